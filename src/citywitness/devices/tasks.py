"""Devices upkeep: presence sweep, position partitions, de-duplication ids.

- `devices:sweep_offline` every 15 s: recorders silent for `offline_after_seconds` go
  offline (state written, `offline` event recorded, consoles notified).
- `devices:maintain_partitions` hourly: daily position partitions created ahead, expired
  ones dropped (`positions_retention_days`), and message ids older than the backfill
  window plus a day deleted (a message that old would be refused anyway).
Both are idempotent: a second run finds nothing more to do.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from procrastinate import JobContext
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.models import DeviceMessageSeen
from citywitness.devices.partitions import maintain_partitions as maintain
from citywitness.devices.presence import sweep_offline as sweep
from citywitness.kit.clock import utcnow
from citywitness.kit.jobs import PLATFORM_RETRY, Queue, TaskBlueprint, resources
from citywitness.settings.sections import DevicesSettings

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("devices")

SWEEP_CRON = "* * * * * */15"  # croniter's sixth field: seconds
MAINTENANCE_CRON = "7 * * * *"


async def purge_message_ids(session: AsyncSession, *, now: datetime, keep: timedelta) -> int:
    result = await session.execute(
        delete(DeviceMessageSeen)
        .where(DeviceMessageSeen.received_at < now - keep)
        .returning(DeviceMessageSeen.msg_id)
    )
    return len(result.all())


async def upkeep(session: AsyncSession, settings: DevicesSettings, now: datetime) -> dict[str, int]:
    """Partitions ahead, expired partitions dropped, old message ids purged."""
    created, dropped = await maintain(
        session,
        today=now.date(),
        ahead_days=settings.partitions_ahead_days,
        retention_days=settings.positions_retention_days,
    )
    purged = await purge_message_ids(
        session, now=now, keep=timedelta(days=settings.max_backfill_days + 1)
    )
    return {"created": len(created), "dropped": len(dropped), "message_ids_purged": purged}


@blueprint.periodic(cron=SWEEP_CRON)
@blueprint.task(
    name="sweep_offline",
    queue=Queue.MAINTENANCE,
    queueing_lock="devices:sweep_offline",
    pass_context=True,
    retry=False,  # the next tick, 15 s later, is the retry
)
async def sweep_offline(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    """Mark recorders not heard from for `offline_after_seconds` offline."""
    found = resources(context)
    after = timedelta(seconds=found.settings.devices.offline_after_seconds)
    async with found.db.transaction() as session:
        result = await sweep(session, now=utcnow(), after=after)
    if result.marked_offline:
        log.info(
            "recorders offline", extra={"count": len(result.marked_offline), "tick": timestamp}
        )
    return {"offline": len(result.marked_offline)}


@blueprint.periodic(cron=MAINTENANCE_CRON)
@blueprint.task(
    name="maintain_partitions",
    queue=Queue.MAINTENANCE,
    queueing_lock="devices:maintain_partitions",
    pass_context=True,
    retry=PLATFORM_RETRY,
)
async def maintain_partitions(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    """Hourly: position partitions ahead and behind, message ids past the backfill window."""
    found = resources(context)
    async with found.db.transaction() as session:
        done = await upkeep(session, found.settings.devices, utcnow())
    log.info("device partitions maintained", extra={"done": done, "tick": timestamp})
    return done
