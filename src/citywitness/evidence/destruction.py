"""Destroying items whose review window has passed: crypto-shred, then certify.

For each due request (in review, window over), in order:

1. In one transaction: lock the request and the item; a hold found here cancels the
   request instead (the item goes back to active).
2. `ContentStore.destroy(sha256, unless=guard)`: the key record is locked and the guard
   re-checks, under that lock, that no hold exists, the request is still in review, and
   no other live item shares the content.  Only then is the wrapped key destroyed
   (committed), and the bytes deleted after.  Holds and cancellations take the key
   record's share lock (`lock_live_key`), so they cannot slip in between.
3. The derivatives (thumbnail, proxy) are shredded the same way.
4. In one transaction: the certificate is inserted once (`insert_once`, keyed by the
   item), the item marked destroyed and the request done.

Every step is idempotent, so a run killed anywhere is completed by the next one: a
destroyed key is not asked again (the guard is not consulted), byte deletion is retried,
and the certificate is never written twice.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.audit.service import Auditor
from citywitness.evidence.derivative_models import Derivative
from citywitness.evidence.holds import OBJECT_TYPE, cancel_open_deletions, has_active_hold
from citywitness.evidence.models import (
    DeletionRequest,
    DeletionState,
    DestructionCertificate,
    EvidenceItem,
    EvidenceState,
)
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.jobs import insert_once
from citywitness.storage.errors import ObjectNotFound
from citywitness.storage.keystore import KeyRecord
from citywitness.storage.store import ContentStore

log = logging.getLogger(__name__)

Guard = Callable[[], Awaitable[bool]]


class Outcome(enum.StrEnum):
    DESTROYED = "destroyed"
    ALREADY_DONE = "already_done"
    HELD = "held"  # a hold was found: the request was cancelled
    KEPT = "kept"  # the guard kept the key (hold, cancellation or shared content)
    NOT_DUE = "not_due"


@dataclass
class RetentionRun:
    queued: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        self.outcomes[outcome.value] = self.outcomes.get(outcome.value, 0) + 1


def _shared(sha256: str, *, other_than_item: uuid.UUID) -> ColumnElement[bool]:
    """Some other live item, or a derivative of one, references the same content."""
    live_item = exists().where(
        EvidenceItem.sha256 == sha256,
        EvidenceItem.id != other_than_item,
        EvidenceItem.state != EvidenceState.DESTROYED,
    )
    live_derivative = (
        select(Derivative.id)
        .join(EvidenceItem, EvidenceItem.id == Derivative.evidence_id)
        .where(
            Derivative.sha256 == sha256,
            Derivative.evidence_id != other_than_item,
            EvidenceItem.state != EvidenceState.DESTROYED,
        )
        .exists()
    )
    return or_(live_item, live_derivative)


def item_guard(db: Database, request_id: uuid.UUID, item: uuid.UUID, sha256: str) -> Guard:
    """Keep the key (True) unless the request still stands and nothing else needs it."""

    async def keep() -> bool:
        async with db.transaction() as session:
            state = await session.scalar(
                select(DeletionRequest.state).where(DeletionRequest.id == request_id)
            )
            if state != DeletionState.IN_REVIEW or await has_active_hold(session, item):
                return True
            return bool(await session.scalar(select(_shared(sha256, other_than_item=item))))

    return keep


def derivative_guard(db: Database, item: uuid.UUID, sha256: str) -> Guard:
    async def keep() -> bool:
        async with db.transaction() as session:
            return bool(await session.scalar(select(_shared(sha256, other_than_item=item))))

    return keep


@dataclass(frozen=True)
class _Due:
    request_id: uuid.UUID
    item_id: uuid.UUID
    sha256: str
    derivatives: tuple[str, ...]


async def _prepare(session: AsyncSession, request_id: uuid.UUID, now: datetime) -> _Due | Outcome:
    request = await session.scalar(
        select(DeletionRequest).where(DeletionRequest.id == request_id).with_for_update()
    )
    if request is None or request.state == DeletionState.DONE:
        return Outcome.ALREADY_DONE
    if request.state != DeletionState.IN_REVIEW:
        return Outcome.KEPT
    if request.review_until is None or request.review_until > now:
        return Outcome.NOT_DUE
    item = await session.scalar(
        select(EvidenceItem).where(EvidenceItem.id == request.evidence_id).with_for_update()
    )
    if item is None:  # impossible: items are never deleted
        raise RuntimeError(f"deletion request {request_id} has no item")
    if await has_active_hold(session, item.id):
        auditor = Auditor(session=session, actor=None, actor_kind="system")
        await cancel_open_deletions(session, auditor, item, cancelled_by=None)
        return Outcome.HELD
    derivatives = await session.scalars(
        select(Derivative.sha256).where(Derivative.evidence_id == item.id)
    )
    return _Due(request.id, item.id, item.sha256, tuple(derivatives))


async def _certify(
    session: AsyncSession, due: _Due, key: KeyRecord, bytes_destroyed_at: datetime
) -> Outcome:
    request = await session.scalar(
        select(DeletionRequest).where(DeletionRequest.id == due.request_id).with_for_update()
    )
    item = await session.scalar(
        select(EvidenceItem).where(EvidenceItem.id == due.item_id).with_for_update()
    )
    if request is None or item is None:  # impossible: neither is ever deleted
        raise RuntimeError(f"deletion request {due.request_id} vanished")
    now = utcnow()
    key_destroyed_at = key.destroyed_at or now
    inserted = await insert_once(
        session,
        DestructionCertificate,
        {
            "id": uuid.uuid4(),
            "evidence_id": item.id,
            "deletion_request_id": request.id,
            "sha256": item.sha256,
            "size_bytes": item.size_bytes,
            "department_id": item.department_id,
            "policy": request.policy,
            "reason": request.reason,
            "requested_by": request.requested_by,
            "approved_by": request.approved_by,
            "key_destroyed_at": key_destroyed_at,
            "bytes_destroyed_at": bytes_destroyed_at,
            "destroyed_at": now,
        },
    )
    item.state = EvidenceState.DESTROYED
    item.destroyed_at = item.destroyed_at or now
    request.state = DeletionState.DONE
    request.executed_at = request.executed_at or now
    await session.flush()
    if not inserted:
        return Outcome.ALREADY_DONE
    await Auditor(session=session, actor=None, actor_kind="system").record(
        "evidence.destroy",
        object_type=OBJECT_TYPE,
        object_id=item.id,
        department_id=item.department_id,
        reason=request.reason,
        details={
            "deletion_request_id": str(request.id),
            "sha256": item.sha256,
            "policy": request.policy,
            "derivatives": len(due.derivatives),
        },
    )
    return Outcome.DESTROYED


async def execute_deletion(
    db: Database, store: ContentStore, request_id: uuid.UUID, *, now: datetime | None = None
) -> Outcome:
    """Destroy the item of one due request and certify it (idempotent; see module doc)."""
    now = now or utcnow()
    async with db.transaction() as session:
        due = await _prepare(session, request_id, now)
    if isinstance(due, Outcome):
        return due
    key = await store.destroy(
        due.sha256, unless=item_guard(db, due.request_id, due.item_id, due.sha256)
    )
    if not key.destroyed:
        log.info("destruction kept by its guard", extra={"deletion_request_id": str(request_id)})
        return Outcome.KEPT
    for sha256 in due.derivatives:
        try:
            await store.destroy(sha256, unless=derivative_guard(db, due.item_id, sha256))
        except ObjectNotFound:
            log.warning("derivative without a key record", extra={"sha256": sha256})
    bytes_destroyed_at = utcnow()
    async with db.transaction() as session:
        return await _certify(session, due, key, bytes_destroyed_at)


async def due_requests(session: AsyncSession, *, now: datetime, limit: int) -> list[uuid.UUID]:
    found = await session.scalars(
        select(DeletionRequest.id)
        .where(
            DeletionRequest.state == DeletionState.IN_REVIEW,
            DeletionRequest.review_until <= now,
        )
        .order_by(DeletionRequest.review_until, DeletionRequest.id)
        .limit(limit)
    )
    return list(found)
