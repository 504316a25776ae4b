"""Durable jobs on the platform's own PostgreSQL (Procrastinate), without the domain parts.

A domain declares its tasks on a `TaskBlueprint` in its `tasks.py`; `citywitness.worker`
registers every blueprint on the one Procrastinate app.  A task named `purge_expired_logins`
on the `identity` blueprint is stored and run as `identity:purge_expired_logins`.

Deferring is part of the unit of work: `defer(session, task, ...)` inserts the job row on
the session's own connection, inside its transaction.  The job exists if and only if the
change it follows was committed; a worker sees it only after that commit.

Tasks run at least once: a job whose worker died is run again by another worker.  A task
therefore does its effect in one transaction whose writes are keyed (`insert_once`, or a
state check) so that a second run changes nothing.  Declare a retry strategy
(`PLATFORM_RETRY`): it covers failures and also jobs cut short by a worker's shutdown.
Async tasks must not block the event loop (heartbeats run there); CPU-bound work is a
sync task, run in a thread.  Task arguments are ids, never personal data: they are stored
in the job row and written to the logs.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from procrastinate import Blueprint, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.manager import JobManager
from procrastinate.tasks import Task, configure_task
from sqlalchemy import TableClause, literal_column, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.health import Check
from citywitness.settings import Settings


class Queue(StrEnum):
    """The queues workers listen on (`citywitness worker --queue ...`)."""

    DEFAULT = "default"
    CPU = "cpu"  # hashing, transcoding: CPU-bound, run as sync tasks in threads
    ANALYSIS = "analysis"  # AI analyzers; GPU machines serve this one
    MAINTENANCE = "maintenance"  # sweeps, stalled-job recovery, retention


def backoff(retries: int = 5, base_seconds: int = 2) -> RetryStrategy:
    """Retry a failed job up to `retries` times (so 1 + retries runs in all), waiting
    base**n seconds before the n-th retry (2, 4, 8, 16, 32 s with the defaults)."""
    return RetryStrategy(max_attempts=retries, exponential_wait=base_seconds)


PLATFORM_RETRY = backoff()
"""The retry strategy platform tasks declare unless they have a reason not to."""


class TaskBlueprint(Blueprint):
    """The tasks of one domain, registered by the worker under `namespace`."""

    def __init__(self, namespace: str) -> None:
        super().__init__()
        self.namespace = namespace


def task_name(task: Task[Any, Any, Any]) -> str:
    """The name a job of `task` is stored under, whether or not the worker app exists yet."""
    blueprint = task.blueprint
    if isinstance(blueprint, TaskBlueprint):  # not registered on the app (yet)
        return f"{blueprint.namespace}:{task.name}"
    return task.name


@dataclass(frozen=True)
class DeferOptions:
    """How to queue one job; unset fields take the task's defaults."""

    queue: str | None = None
    priority: int | None = None
    lock: str | None = None
    """No two jobs with the same lock run at the same time."""
    queueing_lock: str | None = None
    """No two jobs with the same queueing lock wait in the queue: `AlreadyEnqueued`."""
    delay: datetime.timedelta | None = None
    """Run no sooner than this long from now."""


# Deferring runs on the caller's connection: this manager's pool is never opened.
_DEFER_MANAGER = JobManager(PsycopgConnector())


async def defer(
    session: AsyncSession,
    task: Task[Any, Any, Any],
    /,
    *,
    options: DeferOptions | None = None,
    **task_kwargs: Any,
) -> int:
    """Queue a job of `task` inside `session`'s transaction; return the job id.

    Committed with the session's change or rolled back with it.  With a queueing lock a
    job already waiting raises `procrastinate.exceptions.AlreadyEnqueued` and leaves the
    session's transaction usable (the insert runs in a savepoint).
    """
    opts = options or DeferOptions()
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    queueing_lock = opts.queueing_lock if opts.queueing_lock is not None else task.queueing_lock
    deferrer = configure_task(
        name=task_name(task),
        job_manager=_DEFER_MANAGER,
        queue=opts.queue or task.queue,
        priority=opts.priority if opts.priority is not None else task.priority,
        lock=opts.lock if opts.lock is not None else task.lock,
        queueing_lock=queueing_lock,
        schedule_at=utcnow() + opts.delay if opts.delay else None,
        connection=raw.driver_connection,
    )
    if queueing_lock is None:
        return int(await deferrer.defer_async(**task_kwargs))
    async with session.begin_nested():
        await session.connection()  # emits the SAVEPOINT before the insert
        return int(await deferrer.defer_async(**task_kwargs))


async def insert_once(
    session: AsyncSession, table: TableClause | type[Any], values: Mapping[str, Any]
) -> bool:
    """Insert a row unless one with the same unique key exists; True if this call did.

    A task writes its effect this way, keyed by what it is about (an evidence id, the job
    id), in the same transaction as the rest of its work: a rerun after a worker died
    between the commit and the acknowledgement then changes nothing.
    """
    statement = insert(table).values(dict(values)).on_conflict_do_nothing()
    inserted = await session.scalar(statement.returning(literal_column("1")))
    return inserted is not None


RESOURCES_KEY = "citywitness"


@dataclass(frozen=True)
class JobResources:
    """What a running task may use from the worker's process."""

    db: Database
    settings: Settings


def resources(context: JobContext) -> JobResources:
    """The resources of the worker running `context`'s job (tasks use `pass_context=True`)."""
    found = context.additional_context.get(RESOURCES_KEY)
    if not isinstance(found, JobResources):
        raise RuntimeError("job runs outside a citywitness worker: no resources")
    return found


def readiness_check(db: Database, worker: asyncio.Task[None] | None = None) -> Check:
    """Readiness of jobs: the queue schema answers and, if given, the worker still runs."""

    async def check() -> str | None:
        if worker is not None and worker.done():
            return "worker stopped"
        async with db.engine.connect() as conn:
            found = await conn.scalar(text("SELECT to_regclass('procrastinate_jobs')"))
        return None if found is not None else "job queue schema missing"

    return check
