"""Commands from the console: issue, read, list, cancel; departments' consent policies.

Scope is the recorder's department: outside it a command does not exist (404).  Issuing
needs devices:command there, a live view also media:live, and a live view needs a reason.
Every call is audited (a live view request with its reason).  Issuing defers the first
delivery step in the same transaction: the job exists exactly when the command does.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted, ensure_visible
from citywitness.agencies.models import Department
from citywitness.audit.service import Auditor
from citywitness.devices.commands import (
    FINAL_STATES,
    OPEN_STATES,
    clean_params,
    consent_needed,
    move,
)
from citywitness.devices.commands_errors import (
    CommandClosed,
    InvalidCommand,
    RecorderNotEnrolled,
    TooManyOpenCommands,
)
from citywitness.devices.commands_models import (
    DeviceCommand,
    DeviceCommandEvent,
    DeviceCommandPolicy,
)
from citywitness.devices.commands_schemas import CommandCreate
from citywitness.devices.commands_tasks import schedule_delivery
from citywitness.devices.errors import RecorderRetired
from citywitness.devices.models import DeviceCredential, DeviceStateRow, Recorder, RecorderState
from citywitness.devices.service import RECORDER, visible_recorder
from citywitness.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from citywitness.settings.sections import DeviceCommandsSettings

COMMAND = "device_command"
DEPARTMENT = "department"
P = Permission


def default_timeout(kind: str, settings: DeviceCommandsSettings) -> int:
    if kind == "request_live_view":
        return settings.live_view_timeout_seconds
    if kind == "text_message":
        return settings.text_message_timeout_seconds
    return settings.timeout_seconds


async def _consent_policy(
    session: AsyncSession, department_id: uuid.UUID
) -> DeviceCommandPolicy | None:
    return await session.get(DeviceCommandPolicy, department_id)


async def _consent_required(
    session: AsyncSession, recorder: Recorder, settings: DeviceCommandsSettings
) -> bool:
    own = await _consent_policy(session, recorder.department_id)
    policy = own.live_view_consent if own is not None else settings.live_view_consent
    recording = await session.scalar(
        select(DeviceStateRow.recording).where(DeviceStateRow.recorder_id == recorder.id)
    )
    return consent_needed(policy, recording)


async def _check_recorder(
    session: AsyncSession, recorder: Recorder, settings: DeviceCommandsSettings, now: datetime
) -> None:
    if recorder.state != RecorderState.ACTIVE.value:
        raise RecorderRetired
    enrolled = await session.scalar(
        select(DeviceCredential.id).where(
            DeviceCredential.recorder_id == recorder.id, DeviceCredential.revoked_at.is_(None)
        )
    )
    if enrolled is None:
        raise RecorderNotEnrolled
    open_count = await session.scalar(
        select(func.count())
        .select_from(DeviceCommand)
        .where(
            DeviceCommand.recorder_id == recorder.id,
            DeviceCommand.state.in_(sorted(OPEN_STATES)),
            DeviceCommand.expires_at > now,
        )
    )
    if int(open_count or 0) >= settings.max_open_per_recorder:
        raise TooManyOpenCommands(
            f"at most {settings.max_open_per_recorder} unfinished commands per recorder"
        )


async def issue_command(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    recorder_id: uuid.UUID,
    body: CommandCreate,
    *,
    settings: DeviceCommandsSettings,
    now: datetime,
) -> DeviceCommand:
    """A new `pending` command, its first transition, its first delivery job, audited."""
    recorder = await visible_recorder(session, principal, recorder_id)
    live_view = body.kind == "request_live_view"
    for needed in (P.DEVICES_COMMAND, P.MEDIA_LIVE) if live_view else (P.DEVICES_COMMAND,):
        ensure_permitted(
            principal,
            needed,
            department_id=recorder.department_id,
            object_type=RECORDER,
            object_id=recorder.id,
        )
    params = clean_params(body.kind, body.params)
    if live_view and body.reason is None:
        raise InvalidCommand(fields={"reason": "required for request_live_view"})
    await _check_recorder(session, recorder, settings, now)
    consent = live_view and await _consent_required(session, recorder, settings)
    timeout = body.timeout_seconds or default_timeout(body.kind, settings)
    command = DeviceCommand(
        id=uuid.uuid4(),
        recorder_id=recorder.id,
        department_id=recorder.department_id,
        kind=body.kind,
        params=params,
        reason=body.reason,
        consent_required=consent,
        state="pending",
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=timeout),
        attempts=0,
    )
    session.add(command)
    session.add(
        DeviceCommandEvent(
            id=uuid.uuid4(),
            command_id=command.id,
            at=now,
            from_state=None,
            to_state="pending",
            source="user",
            actor_user_id=principal.user_id,
        )
    )
    await session.flush()
    await schedule_delivery(session, command.id)
    await auditor.record(
        "devices.command",
        object_type=COMMAND,
        object_id=command.id,
        department_id=recorder.department_id,
        reason=body.reason,
        details={
            "recorder_id": str(recorder.id),
            "kind": body.kind,
            "consent_required": consent,
            "timeout_seconds": timeout,
        },
    )
    return command


async def visible_command(
    session: AsyncSession,
    principal: Principal,
    command_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> DeviceCommand:
    """The command, or 404 if it does not exist or its recorder is outside the caller's scope."""
    query = select(DeviceCommand).where(DeviceCommand.id == command_id)
    if for_update:
        query = query.with_for_update()
    command = (await session.execute(query)).scalar_one_or_none()
    if command is None:
        err = ObjectNotVisible(f"no such {COMMAND}")
        err.refusing(P.DEVICES_READ.value, COMMAND, str(command_id))
        raise err
    ensure_visible(
        principal,
        P.DEVICES_READ,
        department_id=command.department_id,
        object_type=COMMAND,
        object_id=command.id,
    )
    return command


async def read_command(
    session: AsyncSession, principal: Principal, auditor: Auditor, command_id: uuid.UUID
) -> tuple[DeviceCommand, list[DeviceCommandEvent]]:
    command = await visible_command(session, principal, command_id)
    events = list(
        (
            await session.execute(
                select(DeviceCommandEvent)
                .where(DeviceCommandEvent.command_id == command.id)
                .order_by(DeviceCommandEvent.at, DeviceCommandEvent.id)
            )
        ).scalars()
    )
    await auditor.record(
        "devices.command_read",
        object_type=COMMAND,
        object_id=command.id,
        department_id=command.department_id,
    )
    return command, events


async def list_commands(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    recorder_id: uuid.UUID,
    *,
    state: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[DeviceCommand], str | None]:
    """The recorder's commands, newest first, keyset-paged."""
    recorder = await visible_recorder(session, principal, recorder_id)
    query = select(DeviceCommand).where(DeviceCommand.recorder_id == recorder.id)
    if state is not None:
        query = query.where(DeviceCommand.state == state)
    if cursor is not None:
        at, command_id = decode_cursor(cursor, 2)
        try:
            key = (datetime.fromisoformat(at), uuid.UUID(command_id))
        except ValueError as exc:
            raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
        if key[0].tzinfo is None:
            raise InvalidCursor(fields={"cursor": "not a cursor"})
        query = query.where(tuple_(DeviceCommand.created_at, DeviceCommand.id) < key)
    order = (DeviceCommand.created_at.desc(), DeviceCommand.id.desc())
    rows = list((await session.execute(query.order_by(*order).limit(limit + 1))).scalars())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([last.created_at.isoformat(), str(last.id)])
    rows = rows[:limit]
    await auditor.record(
        "devices.commands_read",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
        details={"count": len(rows), "state": state},
    )
    return rows, next_cursor


async def cancel_command(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    command_id: uuid.UUID,
    *,
    now: datetime,
) -> DeviceCommand:
    """An unfinished command becomes `cancelled`; a finished one is 409 command_closed."""
    command = await visible_command(session, principal, command_id, for_update=True)
    ensure_permitted(
        principal,
        P.DEVICES_COMMAND,
        department_id=command.department_id,
        object_type=COMMAND,
        object_id=command.id,
    )
    if command.state in FINAL_STATES:
        raise CommandClosed(f"the command is {command.state}")
    await move(
        session, command, "cancelled", at=now, source="user", actor_user_id=principal.user_id
    )
    await auditor.record(
        "devices.command_cancel",
        object_type=COMMAND,
        object_id=command.id,
        department_id=command.department_id,
    )
    return command


async def _visible_department(
    session: AsyncSession, principal: Principal, department_id: uuid.UUID
) -> None:
    exists = await session.scalar(select(Department.id).where(Department.id == department_id))
    if exists is None:
        err = ObjectNotVisible(f"no such {DEPARTMENT}")
        err.refusing(P.DEVICES_READ.value, DEPARTMENT, str(department_id))
        raise err
    ensure_visible(
        principal,
        P.DEVICES_READ,
        department_id=department_id,
        object_type=DEPARTMENT,
        object_id=department_id,
    )


async def read_policy(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    department_id: uuid.UUID,
) -> DeviceCommandPolicy | None:
    """The department's own policy (None: the settings' default applies)."""
    await _visible_department(session, principal, department_id)
    await auditor.record(
        "devices.command_policy_read",
        object_type=DEPARTMENT,
        object_id=department_id,
        department_id=department_id,
    )
    return await _consent_policy(session, department_id)


async def set_policy(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    department_id: uuid.UUID,
    live_view_consent: str,
    *,
    now: datetime,
) -> DeviceCommandPolicy:
    """Set the department's live-view consent policy (devices:manage there), audited."""
    await _visible_department(session, principal, department_id)
    ensure_permitted(
        principal,
        P.DEVICES_MANAGE,
        department_id=department_id,
        object_type=DEPARTMENT,
        object_id=department_id,
    )
    before = await _consent_policy(session, department_id)
    previous = before.live_view_consent if before is not None else None
    values = {
        "live_view_consent": live_view_consent,
        "updated_at": now,
        "updated_by": principal.user_id,
    }
    await session.execute(
        insert(DeviceCommandPolicy)
        .values(department_id=department_id, **values)
        .on_conflict_do_update(index_elements=["department_id"], set_=values)
    )
    await auditor.record(
        "devices.command_policy_update",
        object_type=DEPARTMENT,
        object_id=department_id,
        department_id=department_id,
        details={"live_view_consent": live_view_consent, "previous": previous},
    )
    policy = await session.get(DeviceCommandPolicy, department_id, populate_existing=True)
    assert policy is not None  # noqa: S101 - written just above
    return policy
