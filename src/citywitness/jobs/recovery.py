"""Stalled jobs: a worker that died (SIGKILL, OOM, power loss) leaves its jobs in `doing`.

Workers record a heartbeat every `heartbeat_seconds`; a job whose worker missed heartbeats
for `stalled_after_seconds` is put back in its queue, as a retry.  One recovery runs at a
time across all processes (a PostgreSQL advisory lock), so a job is never retried twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import psycopg
from procrastinate import exceptions as procrastinate_errors
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager
from sqlalchemy import func, select

from citywitness.kit.db import Database
from citywitness.settings import JobsSettings

log = logging.getLogger(__name__)

# Arbitrary, fixed: the key of the advisory lock held while recovering (b"cwstalld").
RECOVERY_LOCK_KEY = 0x63_77_73_74_61_6C_6C_64


@dataclass
class Recovery:
    """What one recovery pass did, by job id."""

    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: bool = False  # another process was recovering


async def recover_stalled_jobs(manager: JobManager, db: Database, jobs: JobsSettings) -> Recovery:
    """Retry the jobs of workers that stopped sending heartbeats; fail those tried too often."""
    result = Recovery()
    async with db.engine.connect() as conn:
        locked = await conn.scalar(select(func.pg_try_advisory_lock(RECOVERY_LOCK_KEY)))
        if not locked:
            result.skipped = True
            return result
        try:
            stalled = await manager.get_stalled_jobs(
                seconds_since_heartbeat=jobs.stalled_after_seconds
            )
            for job in stalled:
                await recover_job(manager, job, jobs.stalled_retry_limit, result)
        finally:
            await conn.scalar(select(func.pg_advisory_unlock(RECOVERY_LOCK_KEY)))
            await conn.commit()
    if result.retried or result.failed:
        log.warning(
            "stalled jobs recovered",
            extra={"retried_jobs": result.retried, "failed_jobs": result.failed},
        )
    return result


async def recover_job(manager: JobManager, job: Job, limit: int, result: Recovery) -> None:
    """Retry one stalled job, or fail it past `limit` attempts; note which in `result`."""
    if job.id is None:  # jobs read from the table always have an id
        return
    try:
        if job.attempts + 1 >= limit:
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            result.failed.append(job.id)
        else:
            await manager.retry_job(job)
            result.retried.append(job.id)
    except procrastinate_errors.ConnectorException as exc:
        if not isinstance(exc.__cause__, psycopg.errors.RaiseException):
            raise
        # The job left `doing` meanwhile: its slow worker finished it after all.
        log.info("stalled job finished meanwhile", extra={"job_id": job.id})
