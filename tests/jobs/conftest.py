"""Job tests run on a database of their own (jobs need real commits, workers other
connections or processes), with the test tasks' tables created in it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.worker import build_worker, open_jobs, register, run_worker
from tests.jobs import tasks as test_tasks
from tests.jobs.helpers import WAIT_SECONDS, create_test_tables

register(test_tasks.blueprint)


@pytest.fixture
def jobs_url(fresh_database_url: str) -> str:
    create_test_tables(fresh_database_url)
    return fresh_database_url


@pytest.fixture
def jobs_settings(tmp_path: Path, jobs_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database={"url": jobs_url},
        jobs={
            "in_process_worker": False,
            "periodic": False,
            "heartbeat_seconds": 1,
            "stalled_after_seconds": 5,
        },
    )


@pytest.fixture
async def jobs_db(jobs_url: str) -> AsyncIterator[Database]:
    db = Database(jobs_url, pool_size=4, max_overflow=0)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def opened_jobs(jobs_url: str) -> AsyncIterator[None]:
    async with open_jobs(jobs_url):
        yield


RunOnce = Callable[..., Awaitable[None]]


@pytest.fixture
def run_once(jobs_settings: Settings, jobs_db: Database, opened_jobs: None) -> RunOnce:
    """Run a worker in this process until no job is ready, then stop it."""

    async def run(queues: tuple[str, ...] = ("default",)) -> None:
        worker = build_worker(
            jobs_settings, jobs_db, queues=queues, wait=False, install_signal_handlers=False
        )
        await asyncio.wait_for(run_worker(worker, jobs_settings, jobs_db), WAIT_SECONDS)

    return run
