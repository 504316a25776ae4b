"""Console API: geofences (zones with a rule) of the departments in scope."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.geo import service
from citywitness.geo.schemas import GeofenceCreate, GeofenceList, GeofenceOut, GeofenceUpdate
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/geofences", tags=["geofences"])


@router.get(
    "",
    summary="List geofences in scope.",
    description="Needs alerts:read; only zones of departments where it is held.",
    response_model=GeofenceList,
    responses=error_responses(401, 403, 422),
)
async def get_geofences(
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    department_id: uuid.UUID | None = None,
    active: bool | None = None,
) -> GeofenceList:
    rows = await service.list_geofences(
        session, principal, auditor, department_id=department_id, active=active
    )
    return GeofenceList(items=[GeofenceOut.model_validate(z) for z in rows])


@router.post(
    "",
    status_code=201,
    summary="Add a geofence: a GeoJSON zone with a rule.",
    description=(
        "Needs alerts:manage in the zone's department. 422 invalid_geofence for a zone that "
        "is not a valid Polygon/MultiPolygon (closed rings, lon/lat ranges, size)."
    ),
    response_model=GeofenceOut,
    responses=error_responses(400, 401, 403, 413, 422),
)
async def post_geofence(
    body: GeofenceCreate, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> GeofenceOut:
    return GeofenceOut.model_validate(
        await service.create_geofence(session, principal, auditor, body)
    )


@router.get(
    "/{geofence_id}",
    summary="Read one geofence.",
    description="Needs alerts:read in its department (404 outside scope).",
    response_model=GeofenceOut,
    responses=error_responses(401, 404, 422),
)
async def get_geofence(
    geofence_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> GeofenceOut:
    return GeofenceOut.model_validate(
        await service.get_geofence(session, principal, auditor, geofence_id)
    )


@router.patch(
    "/{geofence_id}",
    summary="Change or deactivate a geofence.",
    description="Needs alerts:manage in its department; changing the zone or rule resets presence.",
    response_model=GeofenceOut,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
async def patch_geofence(
    geofence_id: uuid.UUID,
    body: GeofenceUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> GeofenceOut:
    return GeofenceOut.model_validate(
        await service.update_geofence(session, principal, auditor, geofence_id, body)
    )
