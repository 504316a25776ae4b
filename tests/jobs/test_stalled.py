"""Jobs of a dead worker are put back in their queue, once, and then complete once."""

from __future__ import annotations

from citywitness.jobs.recovery import (
    RECOVERY_LOCK_KEY,
    Recovery,
    recover_job,
    recover_stalled_jobs,
)
from citywitness.kit.db import Database
from citywitness.kit.jobs import defer
from citywitness.settings import JobsSettings, Settings
from citywitness.worker import jobs_app
from tests.jobs import tasks as test_tasks
from tests.jobs.helpers import execute, rows

JOB = "SELECT status::text, attempts, worker_id FROM procrastinate_jobs WHERE id = :id"


async def _running_job(db: Database, key: str) -> tuple[int, int]:
    """A job taken by a (simulated) worker: (job id, worker id)."""
    async with db.transaction() as session:
        job_id = await defer(session, test_tasks.record, key=key)
    manager = jobs_app.job_manager
    worker_id = await manager.register_worker()
    job = await manager.fetch_job(queues=["default"], worker_id=worker_id)
    assert job is not None
    assert job.id == job_id
    return job_id, worker_id


async def _silence(db: Database, worker_id: int, seconds: int) -> None:
    """The worker's last heartbeat was `seconds` ago."""
    await execute(
        db,
        "UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => :s)"
        " WHERE id = :id",
        s=seconds,
        id=worker_id,
    )


async def test_job_of_a_silent_worker_is_retried(
    jobs_db: Database, jobs_settings: Settings, opened_jobs: None
) -> None:
    job_id, worker_id = await _running_job(jobs_db, "s1")
    await _silence(jobs_db, worker_id, 6)

    result = await recover_stalled_jobs(jobs_app.job_manager, jobs_db, jobs_settings.jobs)

    assert (result.retried, result.failed, result.skipped) == ([job_id], [], False)
    assert await rows(jobs_db, JOB, id=job_id) == [("todo", 1, worker_id)]


async def test_job_of_a_live_worker_is_left_alone(
    jobs_db: Database, jobs_settings: Settings, opened_jobs: None
) -> None:
    job_id, worker_id = await _running_job(jobs_db, "s2")
    await _silence(jobs_db, worker_id, 4)  # stalled_after_seconds is 5

    result = await recover_stalled_jobs(jobs_app.job_manager, jobs_db, jobs_settings.jobs)

    assert (result.retried, result.failed) == ([], [])
    assert await rows(jobs_db, JOB, id=job_id) == [("doing", 0, worker_id)]


async def test_job_that_keeps_stalling_is_failed(jobs_db: Database, opened_jobs: None) -> None:
    job_id, worker_id = await _running_job(jobs_db, "s3")
    await _silence(jobs_db, worker_id, 60)
    limit_one = JobsSettings(stalled_after_seconds=5, heartbeat_seconds=1, stalled_retry_limit=1)

    result = await recover_stalled_jobs(jobs_app.job_manager, jobs_db, limit_one)

    assert (result.retried, result.failed) == ([], [job_id])
    assert await rows(jobs_db, JOB, id=job_id) == [("failed", 1, worker_id)]


async def test_one_recovery_at_a_time(
    jobs_db: Database, jobs_settings: Settings, opened_jobs: None
) -> None:
    job_id, worker_id = await _running_job(jobs_db, "s4")
    await _silence(jobs_db, worker_id, 60)
    async with jobs_db.engine.connect() as other:
        await other.exec_driver_sql(f"SELECT pg_advisory_lock({RECOVERY_LOCK_KEY})")

        result = await recover_stalled_jobs(jobs_app.job_manager, jobs_db, jobs_settings.jobs)

        await other.exec_driver_sql(f"SELECT pg_advisory_unlock({RECOVERY_LOCK_KEY})")
    assert (result.retried, result.skipped) == ([], True)
    assert await rows(jobs_db, JOB, id=job_id) == [("doing", 0, worker_id)]


async def test_job_that_finished_meanwhile_is_not_retried(
    jobs_db: Database, jobs_settings: Settings, opened_jobs: None
) -> None:
    job_id, worker_id = await _running_job(jobs_db, "s5")
    await _silence(jobs_db, worker_id, 60)
    stalled = list(await jobs_app.job_manager.get_stalled_jobs(seconds_since_heartbeat=5))
    finished = "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = :id"
    await execute(jobs_db, finished, id=job_id)  # its slow worker finished after all

    result = Recovery()
    await recover_job(jobs_app.job_manager, stalled[0], 5, result)

    assert (result.retried, result.failed) == ([], [])
    assert await rows(jobs_db, JOB, id=job_id) == [("succeeded", 0, worker_id)]
