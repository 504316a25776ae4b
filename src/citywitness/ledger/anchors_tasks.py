"""Periodic jobs that take checkpoints outside: RFC 3161 time stamps and external anchors.

Both tick every minute (cheap: a run does nothing unless its interval has passed and a
newer checkpoint exists), on the maintenance queue, never in the ingest path.  A failed
run records the failure (for /readyz) in a transaction of its own and raises, so
Procrastinate retries it with the platform's backoff; the next tick tries again anyway.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from procrastinate import JobContext

from citywitness.kit.db import Database
from citywitness.kit.jobs import PLATFORM_RETRY, Queue, TaskBlueprint, resources
from citywitness.ledger.anchors import AnchorError, build_anchor
from citywitness.ledger.anchors_service import anchor_latest
from citywitness.ledger.anchors_status import (
    TIMESTAMPS_JOB,
    anchor_job,
    record_failure,
    record_success,
)
from citywitness.ledger.timestamps import TimestampError
from citywitness.ledger.timestamps_service import stamp_latest
from citywitness.settings import Settings

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("ledger_anchoring")

TICK_CRON = "* * * * *"


class AnchoringFailed(RuntimeError):
    """At least one outside check failed in this run; the job is retried."""


async def run_timestamps(db: Database, settings: Settings) -> bool:
    """One time-stamping run with its status recorded; False if it failed."""
    config = settings.ledger.timestamps
    if not config.tsa_url:
        return True
    try:
        async with httpx.AsyncClient(timeout=config.timeout_seconds) as client:
            await stamp_latest(db, settings, client)
    except (TimestampError, OSError, ValueError) as exc:
        log.warning("time stamping failed", extra={"error": str(exc)[:300]})
        await record_failure(db, TIMESTAMPS_JOB, str(exc))
        return False
    await record_success(db, TIMESTAMPS_JOB)
    return True


async def run_anchors(db: Database, settings: Settings) -> bool:
    """One anchoring run over every configured anchor; False if any failed."""
    config = settings.ledger.anchors
    interval = timedelta(minutes=config.interval_minutes)
    ok = True
    async with httpx.AsyncClient() as client:
        for adapter in config.adapters:
            job = anchor_job(adapter.name)
            try:
                await anchor_latest(db, build_anchor(adapter, client), interval=interval)
            except AnchorError as exc:
                log.warning("anchoring failed", extra={"anchor": adapter.name, "error": str(exc)})
                await record_failure(db, job, str(exc))
                ok = False
                continue
            await record_success(db, job)
    return ok


@blueprint.periodic(cron=TICK_CRON)
@blueprint.task(
    name="stamp_checkpoints",
    queue=Queue.MAINTENANCE,
    lock="ledger_anchoring:stamp_checkpoints",
    queueing_lock="ledger_anchoring:stamp_checkpoints",
    pass_context=True,
    retry=PLATFORM_RETRY,
)
async def stamp_checkpoints(
    context: JobContext,
    timestamp: int | None = None,  # noqa: ARG001 - the periodic tick, passed by procrastinate
) -> None:
    """Every minute: time-stamp the latest checkpoint if it is due (see the module doc)."""
    found = resources(context)
    if not await run_timestamps(found.db, found.settings):
        raise AnchoringFailed("time stamping failed (see /readyz)")


@blueprint.periodic(cron=TICK_CRON)
@blueprint.task(
    name="anchor_checkpoints",
    queue=Queue.MAINTENANCE,
    lock="ledger_anchoring:anchor_checkpoints",
    queueing_lock="ledger_anchoring:anchor_checkpoints",
    pass_context=True,
    retry=PLATFORM_RETRY,
)
async def anchor_checkpoints(
    context: JobContext,
    timestamp: int | None = None,  # noqa: ARG001 - the periodic tick, passed by procrastinate
) -> None:
    """Every minute: anchor the latest checkpoint with each anchor it is due for."""
    found = resources(context)
    if not await run_anchors(found.db, found.settings):
        raise AnchoringFailed("anchoring failed (see /readyz)")
