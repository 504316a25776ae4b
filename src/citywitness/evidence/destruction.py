"""Destroying items whose review window has passed: crypto-shred, then certify.

For each due request (in review, window over), in order:

1. In one transaction: lock the request and the item; a hold found here cancels the
   request instead (the item goes back to active).
2. `ContentStore.destroy(sha256, unless=guard)`: the key record is locked and the guard
   re-checks, under that lock, that no hold exists and the request is still in review
   (else the key is kept and nothing happens: outcome `kept`).  Then:
   - no other live item shares the content: the wrapped key is destroyed (committed) and
     the bytes deleted after;
   - other live items (or their derivatives) still reference it: the key is kept for
     them, and the guard writes this item's certificate (`insert_once`, no
     `key_destroyed_at`, `content_retained_for` = their ids) before the lock is released.
     A certified item no longer counts as a live reference, so whichever of two sharing
     items goes last sees the other certified and shreds the key.  Holds and
     cancellations take the key record's share lock (`lock_live_key`) and refuse a
     certified item, so they cannot slip in between.
3. The item's derivatives (thumbnail, proxy) are shredded the same way, unless shared.
4. In one transaction: the certificate is inserted once (`insert_once`, keyed by the
   item; already there when the content was retained), the item marked destroyed and
   the request done.

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
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.audit.service import Auditor
from citywitness.evidence import custody
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
    RETAINED = "retained"  # the item was destroyed; its content stays for other items
    ALREADY_DONE = "already_done"
    HELD = "held"  # a hold was found: the request was cancelled
    KEPT = "kept"  # the guard kept the key and the item (hold or cancellation)
    NOT_DUE = "not_due"


@dataclass
class RetentionRun:
    queued: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        self.outcomes[outcome.value] = self.outcomes.get(outcome.value, 0) + 1


def certified(item_id: Any) -> ColumnElement[bool]:
    """The item has a destruction certificate (destroyed, or being finished)."""
    return exists().where(DestructionCertificate.evidence_id == item_id)


def _holders(sha256: str, *, other_than_item: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Other live items whose record, or a derivative of it, references the content."""
    live = and_(
        EvidenceItem.id != other_than_item,
        EvidenceItem.state != EvidenceState.DESTROYED,
        ~certified(EvidenceItem.id),
    )
    items = select(EvidenceItem.id).where(EvidenceItem.sha256 == sha256, live)
    derived = (
        select(EvidenceItem.id)
        .join(Derivative, Derivative.evidence_id == EvidenceItem.id)
        .where(Derivative.sha256 == sha256, live)
    )
    found = union(items, derived).subquery()
    return select(found.c.id).order_by(found.c.id)


async def holders_of(
    session: AsyncSession, sha256: str, *, other_than_item: uuid.UUID
) -> list[uuid.UUID]:
    return list(await session.scalars(_holders(sha256, other_than_item=other_than_item)))


@dataclass(frozen=True)
class _Due:
    request_id: uuid.UUID
    item_id: uuid.UUID
    sha256: str
    derivatives: tuple[str, ...]


@dataclass
class _Decision:
    """What the item guard decided under the key lock."""

    retained_for: list[uuid.UUID] | None = None  # set: the content stays for these items


def _certificate(
    request: DeletionRequest,
    item: EvidenceItem,
    *,
    key_destroyed_at: datetime | None,
    bytes_destroyed_at: datetime | None,
    retained_for: list[uuid.UUID] | None,
) -> dict[str, Any]:
    return {
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
        "content_retained_for": (
            None if retained_for is None else [str(held) for held in retained_for]
        ),
        "bytes_destroyed_at": bytes_destroyed_at,
        "destroyed_at": utcnow(),
    }


def item_guard(db: Database, due: _Due, decision: _Decision) -> Guard:
    """Keep the key (True) unless the request still stands and nothing else needs it.

    When other live items need the content, the item is certified destroyed here, under
    the key lock, with the key retained for them (`decision.retained_for`).  Only the
    certificate is written: holds and cancellations lock the request and the item before
    the key, so locking those rows here (under the key lock, from another connection)
    could deadlock where PostgreSQL cannot see it.  The rows are updated in step 4.
    """

    async def keep() -> bool:
        async with db.transaction() as session:
            request = await session.get(DeletionRequest, due.request_id)
            item = await session.get(EvidenceItem, due.item_id)
            if request is None or item is None:  # impossible: neither is ever deleted
                raise RuntimeError(f"deletion request {due.request_id} vanished")
            if request.state != DeletionState.IN_REVIEW or await has_active_hold(session, item.id):
                return True
            holders = await holders_of(session, due.sha256, other_than_item=item.id)
            if not holders:
                return False
            decision.retained_for = holders
            row = _certificate(
                request, item, key_destroyed_at=None, bytes_destroyed_at=None, retained_for=holders
            )
            await insert_once(session, DestructionCertificate, row)
            return True

    return keep


def derivative_guard(db: Database, item: uuid.UUID, sha256: str) -> Guard:
    async def keep() -> bool:
        async with db.transaction() as session:
            return bool(await holders_of(session, sha256, other_than_item=item))

    return keep


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
    session: AsyncSession, due: _Due, key: KeyRecord, bytes_destroyed_at: datetime | None
) -> Outcome:
    request = await session.scalar(
        select(DeletionRequest).where(DeletionRequest.id == due.request_id).with_for_update()
    )
    item = await session.scalar(
        select(EvidenceItem).where(EvidenceItem.id == due.item_id).with_for_update()
    )
    if request is None or item is None:  # impossible: neither is ever deleted
        raise RuntimeError(f"deletion request {due.request_id} vanished")
    row = _certificate(
        request,
        item,
        key_destroyed_at=key.destroyed_at,
        bytes_destroyed_at=bytes_destroyed_at,
        retained_for=None,
    )
    await insert_once(session, DestructionCertificate, row)  # the guard may have written it
    certificate = await session.scalar(
        select(DestructionCertificate).where(DestructionCertificate.evidence_id == item.id)
    )
    if certificate is None:  # impossible: inserted above or before
        raise RuntimeError(f"no certificate for deletion request {due.request_id}")
    if request.state == DeletionState.DONE:
        return Outcome.ALREADY_DONE
    now = utcnow()
    item.state = EvidenceState.DESTROYED
    item.destroyed_at = item.destroyed_at or certificate.destroyed_at
    request.state = DeletionState.DONE
    request.executed_at = request.executed_at or now
    await session.flush()
    await _audit_destroy(session, due, request, item, certificate)
    retained = certificate.key_destroyed_at is None
    return Outcome.RETAINED if retained else Outcome.DESTROYED


async def _audit_destroy(
    session: AsyncSession,
    due: _Due,
    request: DeletionRequest,
    item: EvidenceItem,
    certificate: DestructionCertificate,
) -> None:
    await custody.record(
        Auditor(session=session, actor=None, actor_kind="system"),
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
            "key_destroyed": certificate.key_destroyed_at is not None,
            "content_retained_for": certificate.content_retained_for,
        },
        ledger_details={
            "certificate_id": str(certificate.id),
            "certificate_sha256": custody.certificate_digest(certificate),
        },
    )


async def _shred_derivatives(db: Database, store: ContentStore, due: _Due) -> None:
    for sha256 in due.derivatives:
        try:
            await store.destroy(sha256, unless=derivative_guard(db, due.item_id, sha256))
        except ObjectNotFound:
            log.warning("derivative without a key record", extra={"sha256": sha256})


async def execute_deletion(
    db: Database, store: ContentStore, request_id: uuid.UUID, *, now: datetime | None = None
) -> Outcome:
    """Destroy the item of one due request and certify it (idempotent; see module doc)."""
    now = now or utcnow()
    async with db.transaction() as session:
        due = await _prepare(session, request_id, now)
    if isinstance(due, Outcome):
        return due
    decision = _Decision()
    key = await store.destroy(due.sha256, unless=item_guard(db, due, decision))
    if not key.destroyed and decision.retained_for is None:
        log.info("destruction kept by its guard", extra={"deletion_request_id": str(request_id)})
        return Outcome.KEPT
    await _shred_derivatives(db, store, due)
    bytes_destroyed_at = utcnow() if key.destroyed else None
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
