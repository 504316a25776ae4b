"""Retention rules: how long an evidence item must be kept.

A category's `retention_days` is the minimum time an item is kept from its anchor (the
capture start, or the ingest time when the capture time is unknown); NULL means
permanent.  When several rules apply (the item's category changed, it was marked
evidentiary or linked to a case later) the longest wins: `longest` never shortens a
retention already granted, and `None` (permanent) beats every date.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.audit.service import Auditor
from citywitness.evidence.models import (
    Category,
    DeletionRequest,
    DeletionState,
    EvidenceItem,
    EvidenceState,
    LegalHold,
)

# Items without a category keep the legal minimum of non-evidentiary recordings (six months
# under the 2016 on-site law-enforcement recording rules).
UNCATEGORIZED_RETENTION_DAYS = 180


def retain_until_for(
    category: Category | None, anchor: datetime, now: datetime | None = None
) -> datetime | None:
    """When an item of `category` anchored at `anchor` may be deleted; None = permanent.

    With `now`, the result is never earlier than `now`: an old recording ingested late is
    not already past due the moment it arrives.
    """
    if category is None:
        days = UNCATEGORIZED_RETENTION_DAYS
    elif category.retention_days is None:
        return None
    else:
        days = category.retention_days
    until = anchor + timedelta(days=days)
    if now is not None and until < now:
        return now
    return until


def longest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    """The longer of two retentions: None (permanent) wins, otherwise the later date."""
    if current is None or candidate is None:
        return None
    return max(current, candidate)


RETENTION_SOURCE = "retention"
RETENTION_REASON = "retention period expired"


def policy_of(category: Category | None) -> str:
    """The rule an expired item was queued under, for the queue and the certificate."""
    if category is None:
        return f"uncategorized: {UNCATEGORIZED_RETENTION_DAYS} days"[:500]
    basis = f" ({category.legal_basis})" if category.legal_basis else ""
    return f"category {category.code}: {category.retention_days} days{basis}"[:500]


async def queue_expired(
    session: AsyncSession, *, now: datetime, review_days: int, batch: int = 500
) -> int:
    """Move up to `batch` expired, unheld, active items to the deletion queue; how many.

    The longest rule wins: an item's stored `retain_until` is re-checked against its
    current category (which may have become evidentiary or longer since ingest) and
    extended instead of queued when that rule keeps it longer.  Items with an open
    deletion request or an unreleased hold are skipped; rows locked by a concurrent run
    are skipped too, so two runs never queue one item twice.
    """
    held = exists().where(LegalHold.evidence_id == EvidenceItem.id, LegalHold.released_at.is_(None))
    open_request = exists().where(
        DeletionRequest.evidence_id == EvidenceItem.id,
        DeletionRequest.state.in_((DeletionState.PENDING_APPROVAL, DeletionState.IN_REVIEW)),
    )
    rows = await session.execute(
        select(EvidenceItem, Category)
        .outerjoin(Category, Category.id == EvidenceItem.category_id)
        .where(
            EvidenceItem.state == EvidenceState.ACTIVE,
            EvidenceItem.retain_until < now,
            ~held,
            ~open_request,
        )
        .order_by(EvidenceItem.retain_until, EvidenceItem.id)
        .limit(batch)
        .with_for_update(of=EvidenceItem, skip_locked=True)
    )
    auditor = Auditor(session=session, actor=None, actor_kind="system")
    queued = 0
    for item, category in rows.all():
        effective = longest(item.retain_until, retain_until_for(category, item.created_at))
        if item.captured_start is not None:
            effective = longest(effective, retain_until_for(category, item.captured_start))
        if effective is None or effective >= now:
            item.retain_until = effective
            continue
        request = DeletionRequest(
            id=uuid.uuid4(),
            created_at=now,
            evidence_id=item.id,
            source=RETENTION_SOURCE,
            state=DeletionState.IN_REVIEW,
            reason=RETENTION_REASON,
            policy=policy_of(category),
            review_until=now + timedelta(days=review_days),
        )
        session.add(request)
        item.state = EvidenceState.PENDING_DELETION
        await session.flush()
        await auditor.record(
            "evidence.deletion.queue",
            object_type="evidence",
            object_id=item.id,
            department_id=item.department_id,
            reason=RETENTION_REASON,
            details={
                "deletion_request_id": str(request.id),
                "policy": request.policy,
                "review_until": (now + timedelta(days=review_days)).isoformat(),
            },
        )
        queued += 1
    await session.flush()
    return queued
