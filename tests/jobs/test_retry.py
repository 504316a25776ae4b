"""A failing job is retried with exponential backoff until it succeeds (or gives up)."""

from __future__ import annotations

from datetime import datetime, timedelta

from citywitness.kit.db import Database
from citywitness.kit.jobs import PLATFORM_RETRY, defer
from tests.jobs import tasks as test_tasks
from tests.jobs.conftest import RunOnce
from tests.jobs.helpers import execute, rows


async def _attempt(db: Database, job_id: int) -> tuple[str, int, datetime, datetime, datetime]:
    """Status, attempts and scheduled_at of the job, with its last start and retry events."""
    found = await rows(
        db,
        """SELECT j.status::text, j.attempts, j.scheduled_at,
                  (SELECT max(at) FROM procrastinate_events e
                    WHERE e.job_id = j.id AND e.type = 'started'),
                  (SELECT max(at) FROM procrastinate_events e
                    WHERE e.job_id = j.id AND e.type = 'deferred_for_retry')
             FROM procrastinate_jobs j WHERE j.id = :id""",
        id=job_id,
    )
    return found[0]


async def _fast_forward(db: Database, job_id: int) -> None:
    """Make the waiting retry due now, instead of sleeping through the backoff."""
    due_now = "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :id"
    await execute(db, due_now, id=job_id)


def test_platform_retry_is_exponential() -> None:
    assert (PLATFORM_RETRY.max_attempts, PLATFORM_RETRY.exponential_wait) == (5, 2)
    assert (PLATFORM_RETRY.wait, PLATFORM_RETRY.linear_wait) == (0, 0)


async def test_failing_job_is_retried_with_growing_waits(
    jobs_db: Database, run_once: RunOnce
) -> None:
    async with jobs_db.transaction() as session:
        job_id = await defer(session, test_tasks.flaky, key="f1")

    for attempts, wait in ((1, 2), (2, 4)):  # backoff(5, 2): 2**1, then 2**2 seconds
        await run_once()
        status, tried, scheduled_at, started_at, retried_at = await _attempt(jobs_db, job_id)
        assert (status, tried) == ("todo", attempts)
        # the retry time was chosen between the attempt's start and its retry record
        assert started_at + timedelta(seconds=wait) <= scheduled_at
        assert scheduled_at <= retried_at + timedelta(seconds=wait)
        await run_once()  # not due yet: nothing runs
        assert (await _attempt(jobs_db, job_id))[:2] == ("todo", attempts)
        await _fast_forward(jobs_db, job_id)

    await run_once()

    assert (await _attempt(jobs_db, job_id))[:2] == ("succeeded", 3)
    calls = "SELECT job_id, attempt FROM test_job_calls WHERE key = 'f1' ORDER BY id"
    assert await rows(jobs_db, calls) == [(job_id, 0), (job_id, 1), (job_id, 2)]
    events = (  # status changes ('scheduled' records each change of scheduled_at)
        "SELECT type::text FROM procrastinate_events"
        " WHERE job_id = :id AND type <> 'scheduled' ORDER BY id"
    )
    assert [e for (e,) in await rows(jobs_db, events, id=job_id)] == [
        "deferred",
        "started",
        "deferred_for_retry",
        "started",
        "deferred_for_retry",
        "started",
        "succeeded",
    ]


async def test_job_fails_for_good_after_its_last_attempt(
    jobs_db: Database, run_once: RunOnce
) -> None:
    async with jobs_db.transaction() as session:
        job_id = await defer(session, test_tasks.flaky_impatient, key="f2")
    await run_once()
    await _fast_forward(jobs_db, job_id)
    await run_once()

    assert (await _attempt(jobs_db, job_id))[:2] == ("failed", 2)
    calls = "SELECT attempt FROM test_job_calls WHERE key = 'f2' ORDER BY id"
    assert await rows(jobs_db, calls) == [(0,), (1,)]
