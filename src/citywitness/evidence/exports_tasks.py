"""Jobs of export packages: building one (queue `cpu`), and the periodic cleanup of expired
packages and stale build folders (queue `maintenance`).  The work is in exports_build.py."""

from __future__ import annotations

import logging
import uuid

from procrastinate import JobContext
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.evidence.exports_build import build_export, clean_exports
from citywitness.evidence.runtime import store_for
from citywitness.kit.jobs import (
    PLATFORM_RETRY,
    DeferOptions,
    Queue,
    TaskBlueprint,
    defer,
    resources,
)

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("evidence_exports")

CLEANUP_CRON = "*/10 * * * *"
RUNS = 1 + int(PLATFORM_RETRY.max_attempts or 0)
"""Runs of one build in all (the first and its retries); the last one fails the export."""


@blueprint.task(name="build_export", queue=Queue.CPU, pass_context=True, retry=PLATFORM_RETRY)
async def build_export_task(context: JobContext, export_id: str) -> str:
    """Write, store and record one export's package (idempotent)."""
    found = resources(context)
    store = store_for(found.settings, found.db)
    return await build_export(found.db, found.settings, store, uuid.UUID(export_id), runs=RUNS)


async def defer_build(session: AsyncSession, export_id: uuid.UUID) -> int:
    """Queue the build of an export, in the caller's transaction; the job id."""
    options = DeferOptions(lock=f"evidence_exports:{export_id}")
    return await defer(session, build_export_task, options=options, export_id=str(export_id))


@blueprint.periodic(cron=CLEANUP_CRON)
@blueprint.task(
    name="clean_exports",
    queue=Queue.MAINTENANCE,
    lock="evidence_exports:clean_exports",
    queueing_lock="evidence_exports:clean_exports",
    pass_context=True,
    retry=PLATFORM_RETRY,
)
async def clean_exports_task(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    """Every 10 minutes: expired packages crypto-shredded, stale build folders removed."""
    found = resources(context)
    store = store_for(found.settings, found.db)
    summary = await clean_exports(found.db, store, found.settings)
    log.info("exports cleaned", extra={"summary": summary, "tick": timestamp})
    return summary


__all__ = ["RUNS", "blueprint", "build_export_task", "clean_exports_task", "defer_build"]
