"""The daily retention job: queue expired items, destroy those whose review window passed.

Declared here as a periodic task on the maintenance queue; `citywitness.worker`
registers the blueprint.  One run is safe to repeat at any point (see destruction.py):
the job's lock keeps two runs from overlapping, and a run that failed part-way raises so
that Procrastinate retries it with the platform's backoff.
"""

from __future__ import annotations

import logging
from datetime import datetime

from procrastinate import JobContext

from citywitness.evidence.destruction import (
    Outcome,
    RetentionRun,
    due_requests,
    execute_deletion,
)
from citywitness.evidence.retention import queue_expired
from citywitness.evidence.runtime import store_for
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.jobs import PLATFORM_RETRY, Queue, TaskBlueprint, resources
from citywitness.storage.store import ContentStore

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("evidence_lifecycle")

RETENTION_CRON = "30 2 * * *"  # daily, at night
BATCH = 200


class RetentionIncomplete(RuntimeError):
    """Some items could not be destroyed in this run; the job is retried."""


async def run_retention(
    db: Database, store: ContentStore, *, review_days: int, now: datetime | None = None
) -> RetentionRun:
    """One pass: queue every expired item, then execute every due deletion."""
    now = now or utcnow()
    run = RetentionRun()
    while True:
        async with db.transaction() as session:
            queued = await queue_expired(session, now=now, review_days=review_days, batch=BATCH)
        run.queued += queued
        if queued < BATCH:
            break
    seen: set[str] = set()
    while True:
        async with db.transaction() as session:
            due = [
                r for r in await due_requests(session, now=now, limit=BATCH) if str(r) not in seen
            ]
        if not due:
            break
        for request_id in due:
            seen.add(str(request_id))
            try:
                outcome = await execute_deletion(db, store, request_id, now=now)
            except Exception:  # one bad item must not stop the others; the job is retried
                log.exception("destruction failed", extra={"deletion_request_id": str(request_id)})
                run.failed.append(str(request_id))
                continue
            run.count(outcome)
    return run


@blueprint.periodic(cron=RETENTION_CRON)
@blueprint.task(
    name="apply_retention",
    queue=Queue.MAINTENANCE,
    lock="evidence_lifecycle:apply_retention",
    queueing_lock="evidence_lifecycle:apply_retention",
    pass_context=True,
    retry=PLATFORM_RETRY,
)
async def apply_retention(context: JobContext, timestamp: int | None = None) -> dict[str, object]:
    """Daily: expired items to the deletion queue; due ones crypto-shredded and certified."""
    found = resources(context)
    store = store_for(found.settings, found.db)
    run = await run_retention(
        found.db, store, review_days=found.settings.evidence.deletion_review_days
    )
    summary: dict[str, object] = {"queued": run.queued, **run.outcomes, "failed": len(run.failed)}
    log.info("retention applied", extra={"summary": summary, "tick": timestamp})
    if run.failed:
        raise RetentionIncomplete(f"{len(run.failed)} destructions failed; retried")
    return summary


__all__ = ["Outcome", "RetentionIncomplete", "apply_retention", "blueprint", "run_retention"]
