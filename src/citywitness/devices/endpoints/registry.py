"""Console API: the recorder registry, enrollment codes, revocation and shift bindings."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.devices import bindings, enrollment, service
from citywitness.devices.models import RecorderState
from citywitness.devices.schemas import (
    BindIn,
    BindingList,
    BindingOut,
    DeviceStateOut,
    EnrollmentCodeOut,
    RecorderCreate,
    RecorderOut,
    RecorderPage,
    RecorderUpdate,
    RevokeOut,
    UnbindIn,
)
from citywitness.devices.service import RecorderView
from citywitness.kit.clock import utcnow
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/devices", tags=["devices"])


def recorder_out(found: RecorderView) -> RecorderOut:
    r = found.recorder
    return RecorderOut(
        id=r.id,
        serial=r.serial,
        department_id=r.department_id,
        model=r.model,
        firmware=r.firmware,
        imei=r.imei,
        iccid=r.iccid,
        notes=r.notes,
        state=RecorderState(r.state),
        enrolled=found.enrolled,
        created_at=r.created_at,
        updated_at=r.updated_at,
        latest=DeviceStateOut.model_validate(found.state)
        if found.state is not None and found.state.last_seen_at is not None
        else None,
        binding=BindingOut.model_validate(found.binding) if found.binding else None,
    )


@router.get(
    "",
    summary="List recorders in scope, with their latest state and open binding.",
    description="Needs devices:read; only recorders of departments where it is held. By serial.",
    response_model=RecorderPage,
    responses=error_responses(400, 401, 403, 422),
)
async def get_recorders(
    *,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    department_id: uuid.UUID | None = None,
    state: RecorderState | None = None,
    online: bool | None = None,
    q: Annotated[str | None, Query(max_length=64, description="Serial prefix.")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RecorderPage:
    found, next_cursor = await service.list_recorders(
        session,
        principal,
        auditor,
        department_id=department_id,
        state=state,
        online=online,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    return RecorderPage(items=[recorder_out(v) for v in found], next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Register a recorder.",
    description="Needs devices:manage in the recorder's department. 409 serial_taken.",
    response_model=RecorderOut,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def post_recorder(
    body: RecorderCreate, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> RecorderOut:
    return recorder_out(await service.create_recorder(session, principal, auditor, body))


@router.get(
    "/{recorder_id}",
    summary="Read one recorder with its latest state.",
    description="Needs devices:read in its department (404 outside scope).",
    response_model=RecorderOut,
    responses=error_responses(401, 404, 422),
)
async def get_recorder(
    recorder_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> RecorderOut:
    return recorder_out(await service.get_recorder(session, principal, auditor, recorder_id))


@router.patch(
    "/{recorder_id}",
    summary="Change a recorder; `state: retired` revokes its credential and ends its binding.",
    description="Needs devices:manage in its department.",
    response_model=RecorderOut,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
async def patch_recorder(
    recorder_id: uuid.UUID,
    body: RecorderUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> RecorderOut:
    changed = await service.update_recorder(session, principal, auditor, recorder_id, body)
    return recorder_out(changed)


@router.post(
    "/{recorder_id}/enrollment-code",
    status_code=201,
    summary="Issue a one-time enrollment code (shown once); replaces any pending code.",
    description="Needs devices:manage. The code expires after devices.enrollment_code_ttl_minutes.",
    response_model=EnrollmentCodeOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_enrollment_code(
    recorder_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> EnrollmentCodeOut:
    issued = await enrollment.create_enrollment_code(
        session,
        principal,
        auditor,
        recorder_id,
        ttl=timedelta(minutes=settings.devices.enrollment_code_ttl_minutes),
        now=utcnow(),
    )
    return EnrollmentCodeOut(
        recorder_id=issued.recorder.id, code=issued.code, expires_at=issued.expires_at
    )


@router.post(
    "/{recorder_id}/revoke",
    summary="Revoke the recorder's credential now (it must enroll again).",
    description="Needs devices:manage. MQTT and HTTPS refuse the old secret at once.",
    response_model=RevokeOut,
    responses=error_responses(401, 403, 404, 422),
)
async def post_revoke(
    recorder_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> RevokeOut:
    revoked = await enrollment.revoke(session, principal, auditor, recorder_id)
    return RevokeOut(recorder_id=recorder_id, revoked=revoked)


@router.post(
    "/{recorder_id}/binding",
    status_code=201,
    summary="Bind the recorder to an officer for a shift (one person, one file).",
    description=(
        "Needs devices:bind. 409 recorder_already_bound / officer_already_bound; 422 "
        "officer_not_in_department."
    ),
    response_model=BindingOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
async def post_binding(
    recorder_id: uuid.UUID,
    body: BindIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> BindingOut:
    made = await bindings.bind(
        session, principal, auditor, recorder_id, body.officer_id, started_at=body.started_at
    )
    return BindingOut.model_validate(made)


@router.post(
    "/{recorder_id}/unbind",
    summary="End the recorder's open shift binding.",
    description="Needs devices:bind. 409 not_bound when there is none.",
    response_model=BindingOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
async def post_unbind(
    recorder_id: uuid.UUID,
    body: UnbindIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> BindingOut:
    ended = await bindings.unbind(session, principal, auditor, recorder_id, ended_at=body.ended_at)
    return BindingOut.model_validate(ended)


@router.get(
    "/{recorder_id}/bindings",
    summary="The recorder's shift bindings, newest first (history kept).",
    description="Needs devices:read in its department.",
    response_model=BindingList,
    responses=error_responses(401, 404, 422),
)
async def get_bindings(
    recorder_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> BindingList:
    found = await bindings.binding_history(session, principal, auditor, recorder_id)
    return BindingList(items=[BindingOut.model_validate(b) for b in found])
