"""HTTP adapter for grants: POST /grants, GET /grants, DELETE /grants/{grant_id}."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from citywitness.access import grants as service
from citywitness.access.models import Grant
from citywitness.access.schemas import GrantCreate, GrantList, GrantOut
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.kit.clock import utcnow
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/grants", tags=["grants"])


def _out(grant: Grant) -> GrantOut:
    fields = {name: getattr(grant, name) for name in GrantOut.model_fields if name != "active"}
    return GrantOut.model_validate({**fields, "active": service.is_active(grant, utcnow())})


@router.post(
    "",
    status_code=201,
    summary="Grant a user or a department one permission on one object.",
    description=(
        "Needs grants:manage in the department that owns the object.  The object must be of "
        "a registered type (e.g. officer); callers who cannot read it get 404."
    ),
    response_model=GrantOut,
    responses=error_responses(401, 403, 404, 422),
)
async def post_grant(
    body: GrantCreate, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> GrantOut:
    return _out(await service.create_grant(session, principal, auditor, body))


@router.get(
    "",
    summary="List the grants on one object (revoked and expired ones included).",
    description="Needs grants:manage in the department that owns the object.",
    response_model=GrantList,
    responses=error_responses(401, 403, 404, 422),
)
async def get_grants(
    object_type: Annotated[str, Query(min_length=1, max_length=60)],
    object_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> GrantList:
    found = await service.list_grants(
        session, principal, auditor, object_type=object_type, object_id=object_id
    )
    return GrantList(items=[_out(g) for g in found])


@router.delete(
    "/{grant_id}",
    summary="Revoke a grant (it is kept, with revoked_at set).",
    description="Needs grants:manage in the department that owns the granted object.",
    response_model=GrantOut,
    responses=error_responses(401, 403, 404, 409),
)
async def delete_grant(
    grant_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> GrantOut:
    return _out(await service.revoke_grant(session, principal, auditor, grant_id))
