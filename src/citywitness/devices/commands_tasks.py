"""Jobs of commands to recorders.

- `device_commands:deliver` (one job per step of one command; deferred in the request
  that issued it, then by each step for the next): publish, retry, time out, finish
  locate_now (see `commands_delivery`).  One step per command at a time (its lock).
- `device_commands:expire` every 10 s: open commands past `expires_at` become `timed_out`.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime, timedelta

from procrastinate import JobContext
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.commands_delivery import DeliveryPolicy, deliver, expire_overdue
from citywitness.devices.commands_publisher import current_publisher
from citywitness.kit.clock import utcnow
from citywitness.kit.jobs import (
    PLATFORM_RETRY,
    DeferOptions,
    Queue,
    TaskBlueprint,
    defer,
    resources,
)

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("device_commands")

EXPIRE_CRON = "* * * * * */10"  # croniter's sixth field: seconds


def _lock(command_id: uuid.UUID | str) -> str:
    return f"device_commands:{command_id}"


@blueprint.task(name="deliver", queue=Queue.DEFAULT, pass_context=True, retry=PLATFORM_RETRY)
async def deliver_command(context: JobContext, command_id: str) -> str | None:
    """One delivery step of one command; the command's state after it."""
    found = resources(context)
    settings = found.settings
    target = uuid.UUID(command_id)

    async def again(session: AsyncSession, when: datetime) -> None:
        await schedule_delivery(session, target, when)

    return await deliver(
        found.db,
        target,
        publisher=current_publisher(settings.mqtt),
        policy=DeliveryPolicy.from_settings(settings.devices.commands),
        reschedule=again,
    )


async def schedule_delivery(
    session: AsyncSession, command_id: uuid.UUID, when: datetime | None = None
) -> None:
    """Queue a delivery step of the command in `session`'s transaction (now or at `when`)."""
    delay = max(when - utcnow(), timedelta(0)) if when is not None else None
    options = DeferOptions(
        delay=delay or None, lock=_lock(command_id), queueing_lock=_lock(command_id)
    )
    with contextlib.suppress(AlreadyEnqueued):  # a step is already waiting: it will do
        await defer(session, deliver_command, options=options, command_id=str(command_id))


@blueprint.periodic(cron=EXPIRE_CRON)
@blueprint.task(
    name="expire",
    queue=Queue.MAINTENANCE,
    queueing_lock="device_commands:expire",
    pass_context=True,
    retry=False,  # the next tick, 10 s later, is the retry
)
async def expire_commands(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    """Mark open commands past their `expires_at` timed out."""
    found = resources(context)
    max_age = timedelta(seconds=found.settings.devices.commands.locate_max_age_seconds)
    async with found.db.transaction() as session:
        finished = await expire_overdue(session, now=utcnow(), locate_max_age=max_age)
    if finished:
        log.info("commands timed out", extra={"count": finished, "tick": timestamp})
    return {"finished": finished}
