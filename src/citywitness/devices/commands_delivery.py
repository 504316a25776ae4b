"""Delivering commands over MQTT, retrying, and timing them out.

`deliver` is one step of the job `device_commands:deliver` for one command:

1. (transaction) a finished command: done; past `expires_at`: `timed_out`; an open
   locate_now with a fresh position: `succeeded`; delivered already: look again later;
2. (no transaction, no lock held) publish on `cw/<dept>/<serial>/command` at QoS 1;
3. (transaction) count the attempt, `pending` -> `sent` once the broker took it, and
   schedule the next step: `retry` later while not acknowledged, `locate_check` later for
   an acknowledged locate_now, at `expires_at` otherwise.

The next step is scheduled in the transaction that records this one, so a step exists as
long as the command is open.  `expire_overdue` (periodic) is the safety net for timeouts.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.agencies.models import Department
from citywitness.devices.commands import (
    FINAL_STATES,
    OPEN_STATES,
    UNDELIVERED_STATES,
    move,
    wire_payload,
)
from citywitness.devices.commands_device import try_locate
from citywitness.devices.commands_models import DeviceCommand
from citywitness.devices.commands_publisher import CommandPublisher
from citywitness.devices.models import Recorder
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.settings.sections import DeviceCommandsSettings

log = logging.getLogger(__name__)

PUBLISH_WAIT_SECONDS = 5.0

Reschedule = Callable[[AsyncSession, datetime], Awaitable[None]]


@dataclass(frozen=True)
class DeliveryPolicy:
    retry: timedelta = timedelta(seconds=5)
    locate_check: timedelta = timedelta(seconds=1)
    locate_max_age: timedelta = timedelta(seconds=10)

    @classmethod
    def from_settings(cls, settings: DeviceCommandsSettings) -> DeliveryPolicy:
        return cls(
            retry=timedelta(seconds=settings.retry_seconds),
            locate_max_age=timedelta(seconds=settings.locate_max_age_seconds),
        )


def next_step(command: DeviceCommand, now: datetime, policy: DeliveryPolicy) -> datetime | None:
    """When to look at an open command again (None: it is finished)."""
    if command.state in FINAL_STATES:
        return None
    if command.state in UNDELIVERED_STATES:
        return min(now + policy.retry, command.expires_at)
    if command.kind == "locate_now":
        return min(now + policy.locate_check, command.expires_at)
    return command.expires_at


async def _locked(session: AsyncSession, command_id: uuid.UUID) -> DeviceCommand | None:
    return (
        await session.execute(
            select(DeviceCommand).where(DeviceCommand.id == command_id).with_for_update()
        )
    ).scalar_one_or_none()


async def _settle(
    session: AsyncSession, command: DeviceCommand, now: datetime, policy: DeliveryPolicy
) -> bool:
    """Finish what can be finished without the recorder; True if the command is done."""
    if command.state in FINAL_STATES:
        return True
    if now >= command.expires_at:
        await move(session, command, "timed_out", at=now, source="platform")
        return True
    return await try_locate(session, command, now=now, max_age=policy.locate_max_age)


async def _target(session: AsyncSession, recorder_id: uuid.UUID) -> tuple[str, str]:
    row = (
        await session.execute(
            select(Department.code, Recorder.serial)
            .join(Recorder, Recorder.department_id == Department.id)
            .where(Recorder.id == recorder_id)
        )
    ).one()
    return str(row[0]), str(row[1])


async def deliver(
    db: Database,
    command_id: uuid.UUID,
    *,
    publisher: CommandPublisher | None,
    policy: DeliveryPolicy,
    reschedule: Reschedule,
) -> str | None:
    """One delivery step (see the module's text); the command's state after it."""
    async with db.transaction() as session:
        command = await _locked(session, command_id)
        if command is None:
            return None
        now = utcnow()
        if await _settle(session, command, now, policy):
            return command.state
        if command.state not in UNDELIVERED_STATES:
            await _schedule(session, command, now, policy, reschedule)
            return command.state
        department_code, serial = await _target(session, command.recorder_id)
        payload = wire_payload(command)
    error = await _publish(publisher, department_code, serial, payload)
    async with db.transaction() as session:
        command = await _locked(session, command_id)
        if command is None:
            return None
        now = utcnow()
        if error is None:
            command.attempts += 1
            command.last_error = None
            if command.state == "pending":
                await move(session, command, "sent", at=now, source="platform", transport="mqtt")
        else:
            command.last_error = error
        await _schedule(session, command, now, policy, reschedule)
        return command.state


async def _publish(
    publisher: CommandPublisher | None, department_code: str, serial: str, payload: bytes
) -> str | None:
    """None once the broker took the command; otherwise what went wrong (a short code)."""
    if publisher is None:
        return "no_mqtt_publisher"
    try:
        await publisher.publish_command(
            department_code, serial, payload, wait_seconds=PUBLISH_WAIT_SECONDS
        )
    except Exception as exc:  # noqa: BLE001 - any failure is one failed attempt, retried
        log.info("command not published", extra={"error": type(exc).__name__})
        return type(exc).__name__[:200]
    return None


async def _schedule(
    session: AsyncSession,
    command: DeviceCommand,
    now: datetime,
    policy: DeliveryPolicy,
    reschedule: Reschedule,
) -> None:
    when = next_step(command, now, policy)
    if when is not None:
        await reschedule(session, when)


async def expire_overdue(
    session: AsyncSession,
    *,
    now: datetime,
    locate_max_age: timedelta = timedelta(seconds=10),
    limit: int = 500,
) -> int:
    """Open commands past `expires_at` become `timed_out` (a locate_now whose position
    came in time `succeeded`); how many were finished."""
    overdue = list(
        (
            await session.execute(
                select(DeviceCommand)
                .where(
                    DeviceCommand.state.in_(sorted(OPEN_STATES)),
                    DeviceCommand.expires_at <= now,
                )
                .order_by(DeviceCommand.expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    for command in overdue:
        if not await try_locate(session, command, now=now, max_age=locate_max_age):
            await move(session, command, "timed_out", at=now, source="platform")
    return len(overdue)
