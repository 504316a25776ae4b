"""Analysis jobs (queue `analysis`; GPU machines serve it): batch runs, live segments, and
the periodic start of runs for new uploads (`analysis.on_upload`).

Arguments are ids only.  Each job is safe to run twice (see batch.py and live.py).
"""

from __future__ import annotations

import uuid

from procrastinate import JobContext
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.analysis import batch, live
from citywitness.evidence.runtime import store_for
from citywitness.kit.jobs import (
    PLATFORM_RETRY,
    DeferOptions,
    Queue,
    TaskBlueprint,
    defer,
    resources,
)

blueprint = TaskBlueprint("analysis")

UPLOAD_CRON = "* * * * *"
UPLOAD_BATCH = 50


@blueprint.task(name="analyse_run", queue=Queue.ANALYSIS, pass_context=True, retry=PLATFORM_RETRY)
async def analyse_run(context: JobContext, run_id: str) -> None:
    """Run (or resume from its progress) one batch run."""
    found = resources(context)
    store = store_for(found.settings, found.db)
    await batch.execute(found.db, store, found.settings, uuid.UUID(run_id))


@blueprint.task(
    name="analyse_segment", queue=Queue.ANALYSIS, pass_context=True, retry=PLATFORM_RETRY
)
async def analyse_segment(context: JobContext, evidence_id: str, seq: int) -> int:
    """Analyse one live segment with the live analyzers."""
    found = resources(context)
    store = store_for(found.settings, found.db)
    return await live.analyse_segment(found.db, store, found.settings, uuid.UUID(evidence_id), seq)


@blueprint.periodic(cron=UPLOAD_CRON)
@blueprint.task(
    name="start_upload_runs",
    queue=Queue.MAINTENANCE,
    queueing_lock="analysis:start_upload_runs",
    pass_context=True,
    retry=PLATFORM_RETRY,
)
async def start_upload_runs(context: JobContext, timestamp: int | None = None) -> int:
    """Start the configured upload runs for new evidence; how many were started."""
    from citywitness.analysis import runs  # noqa: PLC0415 - runs defer this module's jobs

    del timestamp
    found = resources(context)
    async with found.db.transaction() as session:
        started = await runs.start_upload_runs(
            session, found.settings.analysis.on_upload, limit=UPLOAD_BATCH
        )
    return len(started)


async def defer_run(session: AsyncSession, run_id: uuid.UUID) -> int:
    return await defer(
        session,
        analyse_run,
        options=DeferOptions(lock=f"analysis:run:{run_id}"),
        run_id=str(run_id),
    )


async def defer_segment(session: AsyncSession, evidence_id: uuid.UUID, seq: int) -> int:
    return await defer(session, analyse_segment, evidence_id=str(evidence_id), seq=seq)
