"""Helpers of the job tests: database reads, bounded polling, child processes."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from citywitness.kit import migrate
from citywitness.kit.db import Database
from tests.jobs import tasks as test_tasks

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 30.0


async def rows(db: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with db.transaction() as session:
        return [tuple(r) for r in (await session.execute(text(sql), params)).all()]


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, seconds: float = WAIT_SECONDS
) -> None:
    """Poll `condition` every 50 ms; fail the test after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def child_env(url: str | None, **settings: str) -> dict[str, str]:
    """The environment of a `citywitness` child process: no CW_ variables of ours leak.

    Without `url` the child uses the embedded server of its CW_DATA_DIR.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CW_")}
    env.update(
        CW_JOBS__PERIODIC="false",
        CW_MQTT__ENABLED="false",  # no broker: these children test jobs only
        CW_JOBS__HEARTBEAT_SECONDS="1",
        CW_JOBS__STALLED_AFTER_SECONDS="5",
        CW_JOBS__SHUTDOWN_TIMEOUT_SECONDS="5",
        CW_JOBS__TASK_MODULES='["tests.jobs.tasks"]',
        PYTHONPATH=str(REPO_ROOT),
    )
    if url is not None:
        env["CW_DATABASE__URL"] = url
    env.update(settings)
    return env


CITYWITNESS = [sys.executable, "-m", "citywitness"]


async def execute(db: Database, sql: str, **params: Any) -> None:
    async with db.transaction() as session:
        await session.execute(text(sql), params)


def create_test_tables(url: str) -> None:
    """The test tasks' tables, in the database at `url`."""
    engine = create_engine(migrate.sync_url(url))
    try:
        test_tasks.metadata.create_all(engine)
    finally:
        engine.dispose()
