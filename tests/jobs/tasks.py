"""Tasks for the job tests only; a worker loads them with CW_JOBS__TASK_MODULES.

Their tables live on their own metadata (not the application's) and are created by the
tests in their fresh database.
"""

from __future__ import annotations

import asyncio

from procrastinate import JobContext
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
)

from citywitness.kit.jobs import Queue, TaskBlueprint, backoff, insert_once, resources

blueprint = TaskBlueprint("tests")

metadata = MetaData()
calls = Table(
    "test_job_calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(40), nullable=False),
    Column("job_id", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("applied", Boolean),
)
effects = Table(
    "test_job_effects",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("job_id", BigInteger, nullable=False),
)
releases = Table("test_job_releases", metadata, Column("key", String(40), primary_key=True))

FLAKY_FAILURES = 2
HOLD_LIMIT_SECONDS = 30.0


class Flaked(Exception):
    """The flaky task's planned failure."""


async def _fail_twice(context: JobContext, key: str) -> None:
    async with resources(context).db.transaction() as session:
        await session.execute(
            insert(calls).values(key=key, job_id=context.job.id, attempt=context.job.attempts)
        )
        done = await session.scalar(select(func.count()).where(calls.c.key == key))
    if (done or 0) <= FLAKY_FAILURES:
        raise Flaked(key)


@blueprint.task(name="flaky", queue=Queue.DEFAULT, pass_context=True, retry=backoff(5, 2))
async def flaky(context: JobContext, key: str) -> None:
    """Fail the first FLAKY_FAILURES attempts, then succeed; every call is recorded."""
    await _fail_twice(context, key)


@blueprint.task(name="flaky_impatient", queue=Queue.DEFAULT, pass_context=True, retry=backoff(1))
async def flaky_impatient(context: JobContext, key: str) -> None:
    """The same, but retried once only: it never gets to succeed."""
    await _fail_twice(context, key)


@blueprint.task(name="record_then_hold", queue=Queue.DEFAULT, pass_context=True)
async def record_then_hold(context: JobContext, key: str) -> None:
    """Apply the effect once (keyed), record the call, then hold until released."""
    db = resources(context).db
    async with db.transaction() as session:
        applied = await insert_once(session, effects, {"key": key, "job_id": context.job.id})
        await session.execute(
            insert(calls).values(
                key=key, job_id=context.job.id, attempt=context.job.attempts, applied=applied
            )
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HOLD_LIMIT_SECONDS
    while loop.time() < deadline:
        async with db.transaction() as session:
            if await session.scalar(select(releases.c.key).where(releases.c.key == key)):
                return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{key} was never released")


@blueprint.task(name="record", queue=Queue.DEFAULT, pass_context=True)
async def record(context: JobContext, key: str) -> None:
    """Record one call."""
    async with resources(context).db.transaction() as session:
        await session.execute(
            insert(calls).values(key=key, job_id=context.job.id, attempt=context.job.attempts)
        )
