"""The job system, composed: one Procrastinate app holding every domain's tasks, and how a
process (`citywitness worker`, or `serve` in-process) runs a worker on it.

A domain adds its tasks by appending its `tasks.blueprint` to `BLUEPRINTS`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate.periodic import PeriodicRegistry
from procrastinate.worker import Worker

from citywitness.alerts import tasks as alerts_tasks
from citywitness.analysis import redaction_tasks as analysis_redaction_tasks
from citywitness.analysis import tasks as analysis_tasks
from citywitness.devices import commands_tasks as device_commands_tasks
from citywitness.devices import tasks as devices_tasks
from citywitness.evidence import exports_tasks as evidence_export_tasks
from citywitness.evidence import lifecycle_tasks as evidence_lifecycle_tasks
from citywitness.evidence import tasks as evidence_tasks
from citywitness.evidence import tus_tasks as evidence_upload_tasks
from citywitness.identity import tasks as identity_tasks
from citywitness.jobs import tasks as platform_tasks
from citywitness.jobs.recovery import recover_stalled_jobs
from citywitness.kit.db import Database, libpq_url
from citywitness.kit.jobs import RESOURCES_KEY, JobResources, TaskBlueprint
from citywitness.ledger import anchors_tasks as ledger_anchoring_tasks
from citywitness.ledger import sequencer as ledger_sequencer
from citywitness.ledger import tasks as ledger_tasks
from citywitness.media import tasks as media_tasks
from citywitness.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM)

BLUEPRINTS: list[TaskBlueprint] = [
    platform_tasks.blueprint,
    identity_tasks.blueprint,
    evidence_tasks.blueprint,
    evidence_lifecycle_tasks.blueprint,
    evidence_upload_tasks.blueprint,
    evidence_export_tasks.blueprint,
    ledger_tasks.blueprint,
    ledger_anchoring_tasks.blueprint,
    devices_tasks.blueprint,
    device_commands_tasks.blueprint,
    media_tasks.blueprint,
    alerts_tasks.blueprint,
    analysis_tasks.blueprint,
    analysis_redaction_tasks.blueprint,
]

# The process-wide app.  Its connector is replaced by `open_jobs` with one for the
# configured database; deferring from requests does not need it (see kit.jobs.defer).
jobs_app = App(connector=PsycopgConnector())
_registered: dict[str, TaskBlueprint] = {}


class WorkerStopped(RuntimeError):
    """The worker ended without being asked to (a side task such as heartbeats failed)."""


def register(blueprint: TaskBlueprint) -> None:
    """Add a blueprint's tasks (and periodic schedules) to the app, once."""
    known = _registered.get(blueprint.namespace)
    if known is blueprint:
        return
    if known is not None:
        raise ValueError(f"two task blueprints share the namespace {blueprint.namespace!r}")
    jobs_app.add_tasks_from(blueprint, namespace=blueprint.namespace)
    _registered[blueprint.namespace] = blueprint


def register_task_modules(paths: Iterable[str]) -> None:
    """Import extra modules (settings.jobs.task_modules) and register their `blueprint`."""
    for path in paths:
        blueprint = getattr(importlib.import_module(path), "blueprint", None)
        if not isinstance(blueprint, TaskBlueprint):
            raise TypeError(f"{path} has no module-level `blueprint` TaskBlueprint")
        register(blueprint)


for _blueprint in BLUEPRINTS:
    register(_blueprint)


@asynccontextmanager
async def open_jobs(url: str, *, pool_size: int = 4) -> AsyncIterator[App]:
    """The app connected to the database at `url` (a connection pool of its own)."""
    connector = PsycopgConnector(
        conninfo=libpq_url(url),
        min_size=1,
        max_size=pool_size,
        kwargs={"application_name": "citywitness-jobs"},
    )
    with jobs_app.replace_connector(connector):
        async with jobs_app.open_async():
            yield jobs_app


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def build_worker(
    settings: Settings,
    db: Database,
    *,
    queues: Sequence[str] | None = None,
    concurrency: int | None = None,
    wait: bool = True,
    install_signal_handlers: bool = False,
) -> Worker:
    """A worker on `jobs_app` (opened with `open_jobs`) with heartbeats matching settings."""
    jobs = settings.jobs
    register_task_modules(jobs.task_modules)
    options: dict[str, Any] = {
        "queues": list(queues or jobs.queues),
        "name": worker_name(),
        "concurrency": concurrency or jobs.concurrency,
        "wait": wait,
        "shutdown_graceful_timeout": jobs.shutdown_timeout_seconds,
        "update_heartbeat_interval": jobs.heartbeat_seconds,
        "stalled_worker_timeout": jobs.stalled_after_seconds,
        "install_signal_handlers": install_signal_handlers,
        "additional_context": {RESOURCES_KEY: JobResources(db=db, settings=settings)},
    }
    return Worker(app=jobs_app, **options)


async def run_worker(worker: Worker, settings: Settings, db: Database) -> None:
    """Recover the jobs of dead workers, then run `worker` until its task is cancelled.

    The first cancellation stops it gracefully (running jobs get
    `shutdown_timeout_seconds`, then are aborted and retried elsewhere); a second one
    stops it at once, leaving its jobs to the stalled-job recovery.
    """
    await recover_stalled_jobs(jobs_app.job_manager, db, settings.jobs)
    registry = jobs_app.periodic_registry
    if not settings.jobs.periodic:
        jobs_app.periodic_registry = PeriodicRegistry()  # type: ignore[no-untyped-call] # none here
    # The ledger's sequencer runs beside a worker that does periodic work, every
    # ledger.checkpoint_interval_seconds (an advisory lock makes several workers safe).
    sequencing = None
    if settings.jobs.periodic:
        sequencing = asyncio.create_task(ledger_sequencer.run_forever(db, settings), name="ledger")
    try:
        await worker.run()  # type: ignore[no-untyped-call] # untyped in procrastinate
    finally:
        if sequencing is not None:
            sequencing.cancel()
            await asyncio.wait([sequencing])
        jobs_app.periodic_registry = registry


async def stop_worker(task: asyncio.Task[None]) -> None:
    """Stop the worker running in `task` gracefully and wait for it."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and task.exception() is not None:
        log.error("worker failed", exc_info=task.exception())


@contextmanager
def shutdown_signals(callback: Callable[[], object]) -> Iterator[None]:
    """Call `callback` on every SIGINT and SIGTERM while inside the block."""
    loop = asyncio.get_running_loop()
    for sig in SHUTDOWN_SIGNALS:
        loop.add_signal_handler(sig, callback)
    try:
        yield
    finally:
        for sig in SHUTDOWN_SIGNALS:
            loop.remove_signal_handler(sig)


async def work(
    settings: Settings, url: str, *, queues: Sequence[str] | None, concurrency: int | None
) -> None:
    """`citywitness worker`: run one worker until SIGINT/SIGTERM, then shut down cleanly."""
    concurrency = concurrency or settings.jobs.concurrency
    db = Database(
        url, pool_size=settings.database.pool_size, max_overflow=settings.database.max_overflow
    )
    try:
        async with open_jobs(url, pool_size=pool_size_for(concurrency)):
            worker = build_worker(
                settings, db, queues=queues, concurrency=concurrency, install_signal_handlers=False
            )
            task = asyncio.create_task(run_worker(worker, settings, db), name="worker")
            with shutdown_signals(task.cancel):
                await asyncio.wait([task])
            if task.cancelled():  # by a signal: the normal way out
                return
            if (error := task.exception()) is not None:
                raise error
            raise WorkerStopped("the worker stopped on its own (its log says why)")
    finally:
        await db.dispose()


def pool_size_for(concurrency: int) -> int:
    """Connections a worker needs: fetch/finish per running job, heartbeats, abort polls."""
    return concurrency + 3
