"""Commands API: consoles issue, read and cancel commands and set the consent policy;
recorders poll for commands over HTTPS and acknowledge them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.devices import commands_device, commands_service
from citywitness.devices.commands import CommandState, wire_message
from citywitness.devices.commands_models import (
    DeviceCommand,
    DeviceCommandEvent,
    DeviceCommandPolicy,
)
from citywitness.devices.commands_schemas import (
    AckIn,
    AckOut,
    CommandCreate,
    CommandEventOut,
    CommandOut,
    CommandPage,
    PolicyIn,
    PolicyOut,
    WireCommand,
    WireCommandList,
)
from citywitness.devices.endpoints.device import CurrentDevice
from citywitness.kit.clock import utcnow
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/devices", tags=["devices"])
device_router = APIRouter(prefix="/devices", tags=["devices (recorder side)"])


def command_out(
    command: DeviceCommand,
    principal: Principal,
    events: list[DeviceCommandEvent] | None = None,
) -> CommandOut:
    """The command as a console sees it; a locate result only with devices:track."""
    track = principal.has_in(Permission.DEVICES_TRACK, command.department_id)
    return CommandOut(
        id=command.id,
        recorder_id=command.recorder_id,
        department_id=command.department_id,
        kind=command.kind,
        params=dict(command.params),
        reason=command.reason,
        consent_required=command.consent_required,
        state=command.state,
        created_at=command.created_at,
        created_by=command.created_by,
        expires_at=command.expires_at,
        sent_at=command.sent_at,
        acknowledged_at=command.acknowledged_at,
        finished_at=command.finished_at,
        attempts=command.attempts,
        detail=command.detail,
        result=command.result if track else None,
        events=[CommandEventOut.model_validate(e) for e in events] if events is not None else None,
    )


# -- recorder side (before /devices/{recorder_id}/... so that "self" is not taken for an id)


@device_router.get(
    "/self/commands",
    summary="The recorder's commands not yet acknowledged (HTTPS recorders poll this).",
    description=(
        "Device-authenticated (Authorization: Device <serial>:<secret>). Oldest first, at "
        "most 20, unexpired; each is returned again until acknowledged. The items are the "
        "MQTT command payloads."
    ),
    response_model=WireCommandList,
    responses=error_responses(401),
)
async def get_self_commands(session: DbSession, device: CurrentDevice) -> WireCommandList:
    found = await commands_device.poll(session, device, now=utcnow())
    return WireCommandList(items=[WireCommand.model_validate(wire_message(c)) for c in found])


@device_router.post(
    "/self/commands/{command_id}/ack",
    summary="Acknowledge a command or report its outcome (idempotent).",
    description=(
        "Device-authenticated. `acknowledged`, then `succeeded` or `failed`; `rejected` when "
        "the wearer declines a live view that asked consent. The same status again answers "
        "`duplicate: true`; an outcome for a finished command is 409 command_closed. The "
        "same acknowledgement can be sent over MQTT as an event of kind `command_ack` with "
        "details {command_id, status, detail}."
    ),
    response_model=AckOut,
    responses=error_responses(400, 401, 404, 409, 422),
)
async def post_self_ack(
    command_id: uuid.UUID,
    body: AckIn,
    session: DbSession,
    device: CurrentDevice,
    settings: SettingsDep,
) -> AckOut:
    outcome = await commands_device.apply_ack(
        session,
        device,
        command_id,
        body.status,
        body.detail,
        now=utcnow(),
        transport="https",
        locate_max_age=timedelta(seconds=settings.devices.commands.locate_max_age_seconds),
    )
    return AckOut(
        command_id=outcome.command.id,
        state=outcome.command.state,
        duplicate=outcome.duplicate,
    )


# -- console side


@router.get(
    "/commands/{command_id}",
    summary="One command with its outcome and every transition.",
    description="Needs devices:read in the recorder's department (404 outside scope). Audited.",
    response_model=CommandOut,
    responses=error_responses(401, 404, 422),
)
async def get_command(
    command_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> CommandOut:
    command, events = await commands_service.read_command(session, principal, auditor, command_id)
    return command_out(command, principal, events)


@router.post(
    "/commands/{command_id}/cancel",
    summary="Cancel an unfinished command.",
    description=(
        "Needs devices:command in the recorder's department (404 outside scope). A finished "
        "command is 409 command_closed. Audited."
    ),
    response_model=CommandOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_cancel(
    command_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> CommandOut:
    command = await commands_service.cancel_command(
        session, principal, auditor, command_id, now=utcnow()
    )
    return command_out(command, principal)


def policy_out(
    department_id: uuid.UUID, own: DeviceCommandPolicy | None, default: str
) -> PolicyOut:
    if own is None:
        return PolicyOut(
            department_id=department_id,
            live_view_consent=default,
            source="default",
            updated_at=None,
        )
    return PolicyOut(
        department_id=department_id,
        live_view_consent=own.live_view_consent,
        source="department",
        updated_at=own.updated_at,
    )


@router.get(
    "/command-policies/{department_id}",
    summary="The department's live-view consent policy (its own, or the default).",
    description="Needs devices:read in the department (404 otherwise). Audited.",
    response_model=PolicyOut,
    responses=error_responses(401, 404, 422),
)
async def get_policy(
    department_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> PolicyOut:
    own = await commands_service.read_policy(session, principal, auditor, department_id)
    return policy_out(department_id, own, settings.devices.commands.live_view_consent)


@router.put(
    "/command-policies/{department_id}",
    summary="Set the department's live-view consent policy.",
    description="Needs devices:manage in the department (404 outside scope). Audited.",
    response_model=PolicyOut,
    responses=error_responses(400, 401, 403, 404, 422),
)
async def put_policy(
    *,
    department_id: uuid.UUID,
    body: PolicyIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> PolicyOut:
    own = await commands_service.set_policy(
        session, principal, auditor, department_id, body.live_view_consent, now=utcnow()
    )
    return policy_out(department_id, own, settings.devices.commands.live_view_consent)


@router.post(
    "/{recorder_id}/commands",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a command to the recorder; its outcome comes later (GET the command).",
    description=(
        "Needs devices:command in the recorder's department (404 outside scope); "
        "request_live_view also needs media:live and a reason. Delivered over MQTT (retried "
        "until acknowledged) and to HTTPS polls; times out after `timeout_seconds` (default "
        "per kind). 409 for a retired or unenrolled recorder or too many unfinished "
        "commands. Audited with the reason."
    ),
    response_model=CommandOut,
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
async def post_command(
    *,
    recorder_id: uuid.UUID,
    body: CommandCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> CommandOut:
    command = await commands_service.issue_command(
        session,
        principal,
        auditor,
        recorder_id,
        body,
        settings=settings.devices.commands,
        now=utcnow(),
    )
    return command_out(command, principal)


@router.get(
    "/{recorder_id}/commands",
    summary="The recorder's commands, newest first, keyset-paged.",
    description="Needs devices:read in its department (404 outside scope). Audited.",
    response_model=CommandPage,
    responses=error_responses(400, 401, 404, 422),
)
async def get_commands(
    *,
    recorder_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    state: CommandState | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CommandPage:
    rows, next_cursor = await commands_service.list_commands(
        session, principal, auditor, recorder_id, state=state, cursor=cursor, limit=limit
    )
    return CommandPage(items=[command_out(c, principal) for c in rows], next_cursor=next_cursor)
