"""Legal holds: while an item has an unreleased hold, nothing deletes it.

Placing a hold cancels the item's open deletion requests (manual or by retention) and
puts a queued item back to active; the retention job skips held items, and the destroy
step re-checks holds under the key-record lock (see destruction.py), so a hold placed at
any moment before the key is destroyed wins.  A hold on an item whose key was already
destroyed is refused: the destruction committed first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted, ensure_visible
from citywitness.audit.service import Auditor
from citywitness.evidence import custody
from citywitness.evidence.errors import EvidenceDestroyed
from citywitness.evidence.lifecycle_errors import HoldNotActive
from citywitness.evidence.models import (
    DeletionRequest,
    DeletionState,
    DestructionCertificate,
    EvidenceItem,
    EvidenceState,
    LegalHold,
)
from citywitness.kit.clock import utcnow
from citywitness.storage.keystore import lock_live_key

OBJECT_TYPE = "evidence"
OPEN_DELETION_STATES = (DeletionState.PENDING_APPROVAL, DeletionState.IN_REVIEW)


async def lifecycle_item(
    session: AsyncSession,
    principal: Principal,
    evidence_id: uuid.UUID,
    permission: Permission,
    *,
    lock: bool = False,
) -> EvidenceItem:
    """The item, if the caller may see it (else 404) and may do `permission` on it (else 403).

    With `lock`, the item row is locked for the rest of the transaction: every change of
    an item's lifecycle (holds, deletion requests) takes this lock first.
    """
    query = select(EvidenceItem).where(EvidenceItem.id == evidence_id)
    item = await session.scalar(query.with_for_update() if lock else query)
    if item is None:
        err = ObjectNotVisible(f"no such {OBJECT_TYPE}")
        err.refusing(permission.value, OBJECT_TYPE, str(evidence_id))
        raise err
    ensure_visible(
        principal,
        Permission.EVIDENCE_READ,
        department_id=item.department_id,
        classification=item.classification,
        object_type=OBJECT_TYPE,
        object_id=item.id,
    )
    ensure_permitted(
        principal,
        permission,
        department_id=item.department_id,
        object_type=OBJECT_TYPE,
        object_id=item.id,
    )
    return item


async def has_active_hold(session: AsyncSession, evidence_id: uuid.UUID) -> bool:
    query = select(
        exists().where(LegalHold.evidence_id == evidence_id, LegalHold.released_at.is_(None))
    )
    return bool(await session.scalar(query))


async def is_certified(session: AsyncSession, evidence_id: uuid.UUID) -> bool:
    """A destruction certificate exists: the item is destroyed, or its destruction is
    being finished (content retained for other items).  Check it under `lock_live_key`."""
    query = select(exists().where(DestructionCertificate.evidence_id == evidence_id))
    return bool(await session.scalar(query))


async def place_hold(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    reason: str,
) -> LegalHold:
    """Put `evidence_id` on legal hold; cancels its open deletion requests."""
    item = await lifecycle_item(
        session, principal, evidence_id, Permission.EVIDENCE_HOLD, lock=True
    )
    # FOR SHARE on the key record: a destroy in progress either committed (refused here)
    # or waits for this transaction and then sees the hold under its lock.
    if (
        item.state == EvidenceState.DESTROYED
        or not await lock_live_key(session, item.sha256)
        or await is_certified(session, item.id)
    ):
        raise EvidenceDestroyed(fields={"evidence_id": str(item.id)})
    hold = LegalHold(
        id=uuid.uuid4(),
        created_at=utcnow(),
        evidence_id=item.id,
        reason=reason,
        placed_by=principal.user_id,
    )
    session.add(hold)
    await session.flush()
    await custody.record(
        auditor,
        "evidence.hold.place",
        object_type=OBJECT_TYPE,
        object_id=item.id,
        department_id=item.department_id,
        reason=reason,
        details={"hold_id": str(hold.id)},
    )
    await cancel_open_deletions(session, auditor, item, cancelled_by=principal.user_id)
    return hold


async def cancel_open_deletions(
    session: AsyncSession,
    auditor: Auditor,
    item: EvidenceItem,
    *,
    cancelled_by: uuid.UUID | None,
) -> list[DeletionRequest]:
    """Cancel every open deletion request of `item` (locked by the caller); back to active."""
    found = await session.scalars(
        select(DeletionRequest)
        .where(
            DeletionRequest.evidence_id == item.id,
            DeletionRequest.state.in_(OPEN_DELETION_STATES),
        )
        .with_for_update()
    )
    cancelled = list(found)
    now = utcnow()
    for request in cancelled:
        request.state = DeletionState.CANCELLED
        request.cancelled_by = cancelled_by
        request.cancelled_at = now
        await auditor.record(
            "evidence.deletion.cancel",
            object_type=OBJECT_TYPE,
            object_id=item.id,
            department_id=item.department_id,
            reason="legal hold placed",
            details={"deletion_request_id": str(request.id)},
        )
    if item.state == EvidenceState.PENDING_DELETION:
        item.state = EvidenceState.ACTIVE
    await session.flush()
    return cancelled


async def release_hold(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    hold_id: uuid.UUID,
    reason: str,
) -> LegalHold:
    """Release one hold (the item is deletable again once no other hold remains)."""
    hold = await session.scalar(select(LegalHold).where(LegalHold.id == hold_id).with_for_update())
    if hold is None:
        err = ObjectNotVisible("no such legal_hold")
        err.refusing(Permission.EVIDENCE_HOLD.value, "legal_hold", str(hold_id))
        raise err
    try:
        item = await lifecycle_item(
            session, principal, hold.evidence_id, Permission.EVIDENCE_HOLD, lock=True
        )
    except ObjectNotVisible as exc:
        exc.refusing(Permission.EVIDENCE_HOLD.value, "legal_hold", str(hold_id))
        raise
    if hold.released_at is not None:
        raise HoldNotActive(fields={"hold_id": str(hold.id)})
    hold.released_at = utcnow()
    hold.released_by = principal.user_id
    hold.release_reason = reason
    await session.flush()
    await custody.record(
        auditor,
        "evidence.hold.release",
        object_type=OBJECT_TYPE,
        object_id=item.id,
        department_id=item.department_id,
        reason=reason,
        details={"hold_id": str(hold.id)},
    )
    return hold


async def list_holds(
    session: AsyncSession, principal: Principal, auditor: Auditor, evidence_id: uuid.UUID
) -> Sequence[LegalHold]:
    """Every hold of an item, released ones included, oldest first."""
    item = await lifecycle_item(session, principal, evidence_id, Permission.EVIDENCE_READ)
    holds = (
        await session.scalars(
            select(LegalHold)
            .where(LegalHold.evidence_id == item.id)
            .order_by(LegalHold.created_at, LegalHold.id)
        )
    ).all()
    await auditor.record(
        "evidence.hold.list",
        object_type=OBJECT_TYPE,
        object_id=item.id,
        department_id=item.department_id,
    )
    return holds
