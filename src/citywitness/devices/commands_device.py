"""The recorder's side of commands: polling over HTTPS, acknowledgements, locate_now.

A recorder acknowledges over HTTPS (`POST /devices/self/commands/{id}/ack`) or over MQTT
with an event of kind `command_ack` whose details carry `command_id`, `status` and
optionally `detail` (`accept_message` hands it to `ack_from_event`).  Acknowledgements are
idempotent: the same status again, or `acknowledged` after an outcome, changes nothing.
An outcome after the command finished otherwise is `command_closed` (409 over HTTPS,
logged and dropped over MQTT).

locate_now succeeds when a fresh position arrives: one received after the command was
issued and taken at most `locate_max_age` before it.  A recorder answering `succeeded`
before such a position is stored only acknowledges it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.commands import (
    FINAL_STATES,
    UNDELIVERED_STATES,
    AckStatus,
    move,
)
from citywitness.devices.commands_errors import CommandClosed, CommandNotFound, InvalidCommandAck
from citywitness.devices.commands_models import DeviceCommand
from citywitness.devices.models import DevicePosition
from citywitness.devices.principal import DeviceIdentity
from citywitness.kit.errors import AppError

log = logging.getLogger(__name__)

DEFAULT_LOCATE_MAX_AGE = timedelta(seconds=10)
DEVICE_OUTCOMES = frozenset({"succeeded", "failed", "rejected"})
ACK_STATUSES: frozenset[str] = frozenset(get_args(AckStatus))


@dataclass(frozen=True)
class AckOutcome:
    command: DeviceCommand
    duplicate: bool


async def fresh_position(
    session: AsyncSession, command: DeviceCommand, max_age: timedelta
) -> DevicePosition | None:
    """The newest position of the command's recorder that answers it, if one arrived."""
    query = (
        select(DevicePosition)
        .where(
            DevicePosition.recorder_id == command.recorder_id,
            DevicePosition.at >= command.created_at - max_age,
            DevicePosition.received_at >= command.created_at,
        )
        .order_by(DevicePosition.at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def try_locate(
    session: AsyncSession,
    command: DeviceCommand,
    *,
    now: datetime,
    max_age: timedelta = DEFAULT_LOCATE_MAX_AGE,
) -> bool:
    """Finish an open locate_now with the fresh position, if there is one."""
    if command.kind != "locate_now" or command.state in FINAL_STATES:
        return False
    found = await fresh_position(session, command, max_age)
    if found is None:
        return False
    command.result = {
        "lat": found.lat,
        "lon": found.lon,
        "accuracy_m": found.accuracy_m,
        "fix": found.fix,
        "at": found.at.isoformat(),
    }
    return await move(session, command, "succeeded", at=now, source="platform")


async def _locked(
    session: AsyncSession, recorder_id: uuid.UUID, command_id: uuid.UUID
) -> DeviceCommand:
    command = (
        await session.execute(
            select(DeviceCommand)
            .where(DeviceCommand.id == command_id, DeviceCommand.recorder_id == recorder_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if command is None:
        raise CommandNotFound
    return command


async def apply_ack(
    session: AsyncSession,
    device: DeviceIdentity,
    command_id: uuid.UUID,
    status: str,
    detail: str | None,
    *,
    now: datetime,
    transport: str,
    locate_max_age: timedelta = DEFAULT_LOCATE_MAX_AGE,
) -> AckOutcome:
    """Apply the recorder's acknowledgement; CommandNotFound, CommandClosed, InvalidCommandAck."""
    command = await _locked(session, device.device_id, command_id)
    if status == command.state:
        return AckOutcome(command, duplicate=True)
    if status == "rejected" and not command.consent_required:
        raise InvalidCommandAck(fields={"status": "only a live view asking consent is rejected"})
    if command.state in FINAL_STATES:
        if status == "acknowledged" and command.state in DEVICE_OUTCOMES:
            return AckOutcome(command, duplicate=True)  # a late or repeated receipt
        raise CommandClosed(f"the command is {command.state}")
    if command.kind == "locate_now" and status == "succeeded":
        if await try_locate(session, command, now=now, max_age=locate_max_age):
            return AckOutcome(command, duplicate=False)
        status = "acknowledged"  # a position must arrive to finish it
        if command.state == status:
            return AckOutcome(command, duplicate=True)
    moved = await move(
        session, command, status, at=now, source="device", transport=transport, detail=detail
    )
    if status == "acknowledged":
        await try_locate(session, command, now=now, max_age=locate_max_age)
    return AckOutcome(command, duplicate=not moved)


async def ack_from_event(
    session: AsyncSession,
    device: DeviceIdentity,
    details: dict[str, Any],
    *,
    at: datetime,
    transport: str,
) -> None:
    """A `command_ack` device event: apply it if it names one of this recorder's commands.

    Other command ids (an alert delivered to the recorder) are not ours: ignored.  Never
    raises for a bad acknowledgement: the event itself is stored either way.
    """
    try:
        command_id = uuid.UUID(str(details.get("command_id") or ""))
    except ValueError:
        return
    status = str(details.get("status") or "acknowledged")
    detail = details.get("detail")
    exists = await session.scalar(
        select(DeviceCommand.id).where(
            DeviceCommand.id == command_id, DeviceCommand.recorder_id == device.device_id
        )
    )
    if exists is None:
        return
    if status not in ACK_STATUSES:
        log.info("command ack ignored", extra={"command_id": str(command_id), "error": "status"})
        return
    try:
        await apply_ack(
            session,
            device,
            command_id,
            status,
            str(detail) if detail is not None else None,
            now=at,
            transport=transport,
        )
    except AppError as exc:
        log.info("command ack ignored", extra={"command_id": str(command_id), "error": exc.code})


async def poll(
    session: AsyncSession, device: DeviceIdentity, *, now: datetime, limit: int = 20
) -> list[DeviceCommand]:
    """The recorder's undelivered, unexpired commands, oldest first; pending ones become sent."""
    commands = list(
        (
            await session.execute(
                select(DeviceCommand)
                .where(
                    DeviceCommand.recorder_id == device.device_id,
                    DeviceCommand.state.in_(sorted(UNDELIVERED_STATES)),
                    DeviceCommand.expires_at > now,
                )
                .order_by(DeviceCommand.created_at, DeviceCommand.id)
                .limit(limit)
                .with_for_update()
            )
        ).scalars()
    )
    for command in commands:
        if command.state == "pending":
            await move(session, command, "sent", at=now, source="platform", transport="https")
    return commands
