"""The deletion queue, by hand: request, second-person approval, cancellation, reading.

A manual deletion needs a reason (`evidence:delete`) and a *different* user's approval
(`evidence:approve_deletion`); approval starts the review window, after which the
retention job destroys the item (destruction.py).  Requests coming from retention start in
review directly (retention.py).  Every change takes the item's row lock first; changes
that could race a destroy also take the key record's share lock, so they either see the
destruction committed (and refuse) or hold it back until they commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import require, visible_filter
from citywitness.audit.service import Auditor
from citywitness.evidence.holds import (
    OBJECT_TYPE,
    OPEN_DELETION_STATES,
    has_active_hold,
    is_certified,
    lifecycle_item,
)
from citywitness.evidence.lifecycle_errors import (
    CertificateNotFound,
    DeletionAlreadyRequested,
    DeletionNotPending,
    EvidenceOnLegalHold,
    ItemNotDeletable,
    SecondApproverRequired,
)
from citywitness.evidence.models import (
    DeletionRequest,
    DeletionState,
    DestructionCertificate,
    EvidenceItem,
    EvidenceState,
)
from citywitness.kit.clock import utcnow
from citywitness.storage.keystore import lock_live_key

MANUAL = "manual"
MANUAL_POLICY = "manual deletion: reason and second approver"
P = Permission


async def _open_request(session: AsyncSession, evidence_id: uuid.UUID) -> DeletionRequest | None:
    return await session.scalar(
        select(DeletionRequest).where(
            DeletionRequest.evidence_id == evidence_id,
            DeletionRequest.state.in_(OPEN_DELETION_STATES),
        )
    )


async def request_deletion(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    reason: str,
) -> DeletionRequest:
    """Ask for an item to be destroyed; it waits for a second person's approval."""
    item = await lifecycle_item(session, principal, evidence_id, P.EVIDENCE_DELETE, lock=True)
    if item.state != EvidenceState.ACTIVE:
        raise ItemNotDeletable(fields={"state": item.state})
    if await has_active_hold(session, item.id):
        raise EvidenceOnLegalHold(fields={"evidence_id": str(item.id)})
    if (found := await _open_request(session, item.id)) is not None:
        raise DeletionAlreadyRequested(fields={"deletion_request_id": str(found.id)})
    request = DeletionRequest(
        id=uuid.uuid4(),
        created_at=utcnow(),
        evidence_id=item.id,
        source=MANUAL,
        state=DeletionState.PENDING_APPROVAL,
        reason=reason,
        policy=MANUAL_POLICY,
        requested_by=principal.user_id,
    )
    session.add(request)
    await session.flush()
    await auditor.record(
        "evidence.deletion.request",
        object_type=OBJECT_TYPE,
        object_id=item.id,
        department_id=item.department_id,
        reason=reason,
        details={"deletion_request_id": str(request.id)},
    )
    return request


async def _visible_request(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, permission: Permission
) -> tuple[DeletionRequest, EvidenceItem]:
    request = await session.scalar(
        select(DeletionRequest).where(DeletionRequest.id == request_id).with_for_update()
    )
    if request is None:
        err = ObjectNotVisible("no such deletion_request")
        err.refusing(permission.value, "deletion_request", str(request_id))
        raise err
    try:
        item = await lifecycle_item(session, principal, request.evidence_id, permission, lock=True)
    except ObjectNotVisible as exc:
        exc.refusing(permission.value, "deletion_request", str(request_id))
        raise
    return request, item


async def approve_deletion(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    request_id: uuid.UUID,
    *,
    review_days: int,
) -> DeletionRequest:
    """Second-person approval: the review window starts now; the item is queued."""
    request, item = await _visible_request(
        session, principal, request_id, P.EVIDENCE_APPROVE_DELETION
    )
    if request.state != DeletionState.PENDING_APPROVAL:
        raise DeletionNotPending(fields={"state": request.state})
    if request.requested_by == principal.user_id:
        err = SecondApproverRequired()
        err.refusing("evidence.deletion.approve", "deletion_request", str(request.id))
        raise err
    if await has_active_hold(session, item.id):
        raise EvidenceOnLegalHold(fields={"evidence_id": str(item.id)})
    now = utcnow()
    request.state = DeletionState.IN_REVIEW
    request.approved_by = principal.user_id
    request.approved_at = now
    request.review_until = now + timedelta(days=review_days)
    item.state = EvidenceState.PENDING_DELETION
    await session.flush()
    await auditor.record(
        "evidence.deletion.approve",
        object_type=OBJECT_TYPE,
        object_id=item.id,
        department_id=item.department_id,
        details={
            "deletion_request_id": str(request.id),
            "review_until": request.review_until.isoformat(),
        },
    )
    return request


async def cancel_deletion(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    request_id: uuid.UUID,
    reason: str,
) -> DeletionRequest:
    """Withdraw a request before it is executed (approvers, or the requester for their own)."""
    request, item = await _visible_request(session, principal, request_id, P.EVIDENCE_READ)
    own = request.requested_by == principal.user_id and principal.has_in(
        P.EVIDENCE_DELETE, item.department_id
    )
    if not own:
        await lifecycle_item(session, principal, item.id, P.EVIDENCE_APPROVE_DELETION)
    if (
        request.state not in OPEN_DELETION_STATES
        or not await lock_live_key(session, item.sha256)
        or await is_certified(session, item.id)  # destroyed, its content kept for others
    ):
        raise DeletionNotPending(fields={"state": request.state})
    request.state = DeletionState.CANCELLED
    request.cancelled_by = principal.user_id
    request.cancelled_at = utcnow()
    if item.state == EvidenceState.PENDING_DELETION:
        item.state = EvidenceState.ACTIVE
    await session.flush()
    await auditor.record(
        "evidence.deletion.cancel",
        object_type=OBJECT_TYPE,
        object_id=item.id,
        department_id=item.department_id,
        reason=reason,
        details={"deletion_request_id": str(request.id)},
    )
    return request


async def list_deletions(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    *,
    state: DeletionState | None,
    limit: int,
) -> Sequence[DeletionRequest]:
    """The deletion queue the caller may see (items they may read), oldest first."""
    require(principal, P.EVIDENCE_READ)
    query = (
        select(DeletionRequest)
        .join(EvidenceItem, EvidenceItem.id == DeletionRequest.evidence_id)
        .where(
            visible_filter(
                principal,
                P.EVIDENCE_READ,
                department_column=EvidenceItem.department_id,
                classification_column=EvidenceItem.classification,
            )
        )
        .order_by(DeletionRequest.created_at, DeletionRequest.id)
        .limit(limit)
    )
    if state is not None:
        query = query.where(DeletionRequest.state == state)
    found = (await session.scalars(query)).all()
    await auditor.record("evidence.deletion.list", details={"state": state, "count": len(found)})
    return found


async def get_certificate(
    session: AsyncSession, principal: Principal, auditor: Auditor, evidence_id: uuid.UUID
) -> DestructionCertificate:
    """The destruction certificate of a destroyed item."""
    item = await lifecycle_item(session, principal, evidence_id, P.EVIDENCE_READ)
    certificate = await session.scalar(
        select(DestructionCertificate).where(DestructionCertificate.evidence_id == item.id)
    )
    if certificate is None:
        raise CertificateNotFound(fields={"evidence_id": str(item.id)})
    await auditor.record(
        "evidence.certificate.read",
        object_type=OBJECT_TYPE,
        object_id=item.id,
        department_id=item.department_id,
    )
    return certificate
