"""HTTP adapter for legal holds, the deletion queue, certificates and department storage.

Rules live in holds.py, deletion.py and quotas.py.  `lifecycle_router` must be mounted
before the evidence item router, so `/evidence/deletions` is not read as an item id.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.evidence import deletion, holds, quotas
from citywitness.evidence.lifecycle_schemas import (
    CertificateOut,
    DeletionList,
    DeletionRequestOut,
    HoldList,
    HoldOut,
    QuotaIn,
    ReasonIn,
    StorageOut,
)
from citywitness.evidence.models import DeletionState, LegalHold
from citywitness.evidence.quotas import DepartmentUsage
from citywitness.kit.web import error_responses

lifecycle_router = APIRouter(prefix="/evidence", tags=["evidence lifecycle"])
storage_router = APIRouter(prefix="/departments", tags=["storage"])


def _hold(hold: LegalHold) -> HoldOut:
    return HoldOut(
        id=hold.id,
        evidence_id=hold.evidence_id,
        reason=hold.reason,
        placed_by=hold.placed_by,
        created_at=hold.created_at,
        released_at=hold.released_at,
        released_by=hold.released_by,
        release_reason=hold.release_reason,
        active=hold.released_at is None,
    )


def _storage(usage: DepartmentUsage) -> StorageOut:
    quota = usage.quota_bytes
    return StorageOut(
        department_id=usage.department_id,
        items=usage.items,
        stored_bytes=usage.stored_bytes,
        reserved_bytes=usage.reserved_bytes,
        used_bytes=usage.used_bytes,
        quota_bytes=quota,
        available_bytes=None if quota is None else quota - usage.used_bytes,
    )


@lifecycle_router.get(
    "/deletions",
    summary="The deletion queue: requests on items you may read.",
    description="Needs evidence:read; filter with `state`.  Oldest first.",
    response_model=DeletionList,
    responses=error_responses(401, 403, 422),
)
async def get_deletions(
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    state: DeletionState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeletionList:
    found = await deletion.list_deletions(session, principal, auditor, state=state, limit=limit)
    return DeletionList(items=[DeletionRequestOut.model_validate(r) for r in found])


@lifecycle_router.post(
    "/deletions/{request_id}/approve",
    summary="Approve a manual deletion (a second person); the review window starts.",
    description=(
        "Needs evidence:approve_deletion in the item's department, and must not be the "
        "requester (403 second_approver_required).  409 legal_hold while a hold exists."
    ),
    response_model=DeletionRequestOut,
    responses=error_responses(401, 403, 404, 409),
)
async def post_deletion_approval(
    request_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> DeletionRequestOut:
    approved = await deletion.approve_deletion(
        session,
        principal,
        auditor,
        request_id,
        review_days=settings.evidence.deletion_review_days,
    )
    return DeletionRequestOut.model_validate(approved)


@lifecycle_router.post(
    "/deletions/{request_id}/cancel",
    summary="Cancel a deletion before it is executed.",
    description=(
        "Needs evidence:approve_deletion in the item's department, or evidence:delete for "
        "your own request.  409 deletion_not_pending once executed or cancelled."
    ),
    response_model=DeletionRequestOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_deletion_cancel(
    request_id: uuid.UUID,
    body: ReasonIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> DeletionRequestOut:
    cancelled = await deletion.cancel_deletion(session, principal, auditor, request_id, body.reason)
    return DeletionRequestOut.model_validate(cancelled)


@lifecycle_router.post(
    "/holds/{hold_id}/release",
    summary="Release a legal hold.",
    description="Needs evidence:hold in the item's department.  409 hold_not_active if released.",
    response_model=HoldOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_hold_release(
    hold_id: uuid.UUID,
    body: ReasonIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> HoldOut:
    released = await holds.release_hold(session, principal, auditor, hold_id, body.reason)
    return _hold(released)


@lifecycle_router.post(
    "/{evidence_id}/holds",
    status_code=201,
    summary="Place a legal hold: the item cannot be deleted until it is released.",
    description=(
        "Needs evidence:hold in the item's department.  Cancels the item's open deletion "
        "requests.  410 evidence_destroyed if the item was already destroyed."
    ),
    response_model=HoldOut,
    responses=error_responses(401, 403, 404, 410, 422),
)
async def post_hold(
    evidence_id: uuid.UUID,
    body: ReasonIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> HoldOut:
    placed = await holds.place_hold(session, principal, auditor, evidence_id, body.reason)
    return _hold(placed)


@lifecycle_router.get(
    "/{evidence_id}/holds",
    summary="The legal holds of an item, released ones included.",
    description="Needs evidence:read on the item.",
    response_model=HoldList,
    responses=error_responses(401, 403, 404),
)
async def get_holds(
    evidence_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> HoldList:
    found = await holds.list_holds(session, principal, auditor, evidence_id)
    return HoldList(items=[_hold(h) for h in found])


@lifecycle_router.post(
    "/{evidence_id}/deletion",
    status_code=201,
    summary="Request the deletion of an item; a second person must approve it.",
    description=(
        "Needs evidence:delete in the item's department and a reason.  409 legal_hold "
        "while a hold exists, 409 deletion_already_requested, 409 item_not_deletable."
    ),
    response_model=DeletionRequestOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_deletion(
    evidence_id: uuid.UUID,
    body: ReasonIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> DeletionRequestOut:
    created = await deletion.request_deletion(session, principal, auditor, evidence_id, body.reason)
    return DeletionRequestOut.model_validate(created)


@lifecycle_router.get(
    "/{evidence_id}/certificate",
    summary="The destruction certificate of a destroyed item.",
    description="Needs evidence:read on the item.  404 certificate_not_found if not destroyed.",
    response_model=CertificateOut,
    responses=error_responses(401, 403, 404),
)
async def get_certificate(
    evidence_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> CertificateOut:
    found = await deletion.get_certificate(session, principal, auditor, evidence_id)
    return CertificateOut.model_validate(found)


@storage_router.get(
    "/{department_id}/storage",
    summary="A department's storage use and quota.",
    description="Needs storage:read in that department (department admins, platform admins).",
    response_model=StorageOut,
    responses=error_responses(401, 403, 404),
)
async def get_storage(
    department_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> StorageOut:
    return _storage(await quotas.read_storage(session, principal, auditor, department_id))


@storage_router.put(
    "/{department_id}/storage",
    summary="Set or remove a department's storage quota.",
    description=(
        "Needs storage:manage held platform-wide (a platform admin): a department cannot "
        "raise its own quota.  A quota below current use refuses new writes (507)."
    ),
    response_model=StorageOut,
    responses=error_responses(401, 403, 404, 422),
)
async def put_storage(
    department_id: uuid.UUID,
    body: QuotaIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> StorageOut:
    usage = await quotas.set_quota(session, principal, auditor, department_id, body.quota_bytes)
    return _storage(usage)


ROUTERS = [lifecycle_router, storage_router]
