"""Real processes: `citywitness worker` killed with SIGKILL, `citywitness serve` stopped
with SIGTERM.  Every wait is bounded; every child is killed in `finally`."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.kit import migrate
from citywitness.kit.db import Database
from citywitness.kit.jobs import defer
from tests.jobs import tasks as test_tasks
from tests.jobs.helpers import (
    CITYWITNESS,
    REPO_ROOT,
    child_env,
    create_test_tables,
    execute,
    rows,
    wait_until,
)

pytestmark = pytest.mark.slow

JOB = "SELECT status::text, attempts, worker_id FROM procrastinate_jobs WHERE id = :id"


@contextmanager
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for child in started:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=10)


def _start(
    started: list[subprocess.Popen[bytes]], args: list[str], env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        child = subprocess.Popen(
            [*CITYWITNESS, *args], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    started.append(child)
    return child


async def _one(db: Database, sql: str, **params: object) -> object:
    found = await rows(db, sql, **params)
    return found[0][0] if found else None


async def test_jobs_of_a_killed_worker_complete_once(
    jobs_db: Database, jobs_url: str, tmp_path: Path
) -> None:
    async with jobs_db.transaction() as session:
        job_id = await defer(session, test_tasks.record_then_hold, key="k9")
    env = child_env(jobs_url)
    worker = ["worker", "--queue", "default", "--concurrency", "1"]
    calls = "SELECT attempt, applied FROM test_job_calls WHERE key = 'k9' ORDER BY id"

    with children() as started:
        first = _start(started, worker, env, tmp_path / "first.log")

        async def held() -> bool:
            return len(await rows(jobs_db, calls)) == 1

        await wait_until(held, "the first worker to apply the effect and hold")
        status, attempts, first_worker = (await rows(jobs_db, JOB, id=job_id))[0]
        assert (status, attempts) == ("doing", 0)

        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
        await execute(jobs_db, "INSERT INTO test_job_releases (key) VALUES ('k9')")

        async def first_worker_silent() -> bool:
            return bool(
                await _one(
                    jobs_db,
                    "SELECT last_heartbeat < now() - interval '5 seconds'"
                    " FROM procrastinate_workers WHERE id = :id",
                    id=first_worker,
                )
            )

        await wait_until(first_worker_silent, "the killed worker's heartbeat to go stale")
        second = _start(started, worker, env, tmp_path / "second.log")

        async def succeeded() -> bool:
            return await _one(jobs_db, JOB, id=job_id) == "succeeded"

        await wait_until(succeeded, "the second worker to finish the job")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0

    status, attempts, second_worker = (await rows(jobs_db, JOB, id=job_id))[0]
    assert (status, attempts) == ("succeeded", 2)
    assert second_worker != first_worker
    # the rerun found the effect already applied: it exists once
    assert await rows(jobs_db, calls) == [(0, True), (1, False)]
    assert await rows(jobs_db, "SELECT key, job_id FROM test_job_effects") == [("k9", job_id)]
    events = (
        "SELECT type::text FROM procrastinate_events"
        " WHERE job_id = :id AND type <> 'scheduled' ORDER BY id"
    )
    assert [e for (e,) in await rows(jobs_db, events, id=job_id)] == [
        "deferred",
        "started",
        "deferred_for_retry",
        "started",
        "succeeded",
    ]
    assert await rows(jobs_db, "SELECT id FROM procrastinate_workers") == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_serve_runs_jobs_in_process_and_stops_in_order(
    jobs_db: Database, jobs_url: str, tmp_path: Path
) -> None:
    async with jobs_db.transaction() as session:
        job_id = await defer(session, test_tasks.record, key="s1")
    port = _free_port()
    env = child_env(jobs_url, CW_SERVER__PORT=str(port), CW_JOBS__IN_PROCESS_WORKER="true")
    log = tmp_path / "serve.log"

    with children() as started:
        serve = _start(started, ["serve"], env, log)

        async def succeeded() -> bool:
            return await _one(jobs_db, JOB, id=job_id) == "succeeded"

        await wait_until(succeeded, "the in-process worker to run the job")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {
            "database": "ok",
            "jobs": "ok",
            "storage": "ok",
            "alerts": "ok",
            "ledger_forks": "ok",
            "ledger_timestamps": "ok: off (no TSA configured)",
            "ledger_anchors": "ok: off (no anchor configured)",
        }

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0

    lines = log.read_text(encoding="utf-8").splitlines()
    order = [
        next(i for i, line in enumerate(lines) if marker in line)
        for marker in ('"Finished server process', '"Stopped worker on queues')
    ]
    assert order == sorted(order)
    assert await rows(jobs_db, "SELECT attempt FROM test_job_calls WHERE key = 's1'") == [(0,)]
    assert await rows(jobs_db, "SELECT id FROM procrastinate_workers") == []


async def test_workers_share_the_embedded_server_of_their_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = EmbeddedPostgres(data_dir)  # the test holds a handle too, to look inside
    url = server.start()
    db = Database(url, pool_size=1, max_overflow=0)
    env = child_env(None, CW_DATA_DIR=str(data_dir))
    worker = ["worker", "--queue", "default"]
    try:
        migrate.upgrade(url)  # as `db upgrade` would, before workers start side by side
        create_test_tables(url)
        with children() as started:
            first = _start(started, worker, env, tmp_path / "first.log")
            second = _start(started, worker, env, tmp_path / "second.log")

            async def both_registered() -> bool:
                return len(await rows(db, "SELECT id FROM procrastinate_workers")) == 2

            await wait_until(both_registered, "both workers to register")
            first.send_signal(signal.SIGTERM)
            assert first.wait(timeout=20) == 0
            # the server outlived the first worker: the second still works on it
            async with db.transaction() as session:
                job_id = await defer(session, test_tasks.record, key="e1")

            async def succeeded() -> bool:
                return await _one(db, JOB, id=job_id) == "succeeded"

            await wait_until(succeeded, "the second worker to run a job")
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=20) == 0
        assert await rows(db, "SELECT id FROM procrastinate_workers") == []
    finally:
        await db.dispose()
        server.stop()
