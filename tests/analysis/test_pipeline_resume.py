"""A `citywitness worker` SIGKILLed in the middle of a batch run: a second worker resumes
the run from its committed progress and it ends with exactly the findings of an
uninterrupted run (none lost, none twice).  Every wait is bounded; children are killed in
`finally`."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from citywitness.analysis import batch, runs
from citywitness.analysis.models import RunTrigger
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage.factory import build_content_store
from tests.analysis.conftest import VIDEO_SECONDS, video_item, with_analysis
from tests.analysis.pipeline_ticks import DELAY_ENV
from tests.jobs.helpers import CITYWITNESS, REPO_ROOT, child_env, wait_until

pytestmark = pytest.mark.slow

FINDINGS = (
    "SELECT offset_s, label, attributes->>'text', box, model_name, alert_kind"
    " FROM analysis_findings WHERE run_id = :id ORDER BY offset_s, id"
)
JOB = "SELECT status::text, attempts, worker_id FROM procrastinate_jobs WHERE args->>'run_id' = :id"


async def _execute(db: Database, sql: str, **params: object) -> None:
    async with db.transaction() as session:
        await session.execute(text(sql), params)


async def _rows(db: Database, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with db.transaction() as session:
        return [tuple(r) for r in (await session.execute(text(sql), params)).all()]


def _start(started: list[subprocess.Popen[bytes]], env: dict[str, str], log: Path) -> None:
    with log.open("wb") as out:
        started.append(
            subprocess.Popen(
                [*CITYWITNESS, "worker", "--queue", "analysis", "--concurrency", "1"],
                cwd=REPO_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        )


async def test_a_killed_worker_s_run_resumes_without_loss_or_duplicates(
    committed_db: Database, fresh_database_url: str, tmp_path: Path
) -> None:
    db = committed_db
    base = Settings(data_dir=tmp_path / "data", database={"url": fresh_database_url})  # type: ignore[arg-type]
    settings = with_analysis(base, chunk_seconds=1.0, chunk_overlap_s=0.5)
    store = build_content_store(settings, db)
    item = await video_item(db, store)
    async with db.transaction() as session:
        killed = await runs.create(session, item, ["ticks"], trigger=RunTrigger.MANUAL)
        reference = await runs.create(session, item, ["ticks"], trigger=RunTrigger.MANUAL)
    await _execute(
        db, "DELETE FROM procrastinate_jobs WHERE args->>'run_id' = :id", id=str(reference.id)
    )
    await batch.execute(db, store, settings, reference.id)  # uninterrupted, in this process
    expected = await _rows(db, FINDINGS, id=str(reference.id))
    assert [(r[0], r[2]) for r in expected] == [(float(s), f"tick{s}") for s in range(6)]

    env = child_env(
        fresh_database_url,
        CW_DATA_DIR=str(tmp_path / "data"),
        CW_JOBS__TASK_MODULES='["tests.analysis.pipeline_ticks"]',
        CW_ANALYSIS__CHUNK_SECONDS="1",
        CW_ANALYSIS__CHUNK_OVERLAP_S="0.5",
        **{DELAY_ENV: "0.4"},
    )
    progress = "SELECT progress_s FROM analysis_runs WHERE id = :id"
    started: list[subprocess.Popen[bytes]] = []
    try:
        _start(started, env, tmp_path / "first.log")

        async def part_done() -> bool:
            return float((await _rows(db, progress, id=str(killed.id)))[0][0]) >= 2.0

        await wait_until(part_done, "the first worker to commit two chunks", seconds=180)
        started[0].send_signal(signal.SIGKILL)
        assert started[0].wait(timeout=10) == -signal.SIGKILL
        at_kill = float((await _rows(db, progress, id=str(killed.id)))[0][0])
        assert 2.0 <= at_kill < VIDEO_SECONDS  # killed mid-run
        first_worker = (await _rows(db, JOB, id=str(killed.id)))[0][2]

        async def silent() -> bool:
            sql = (
                "SELECT last_heartbeat < now() - interval '5 seconds'"
                " FROM procrastinate_workers WHERE id = :w"
            )
            found = await _rows(db, sql, w=first_worker)
            return not found or bool(found[0][0])

        await wait_until(silent, "the killed worker's heartbeat to go stale")
        _start(started, env, tmp_path / "second.log")

        async def done() -> bool:
            return (await _rows(db, JOB, id=str(killed.id)))[0][0] == "succeeded"

        await wait_until(done, "the second worker to finish the run", seconds=180)
        started[1].send_signal(signal.SIGTERM)
        assert started[1].wait(timeout=30) == 0
    finally:
        for child in started:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=10)

    assert await _rows(db, FINDINGS, id=str(killed.id)) == expected
    state = "SELECT state, progress_s, findings_count FROM analysis_runs WHERE id = :id"
    assert await _rows(db, state, id=str(killed.id)) == [("done", 6.0, 6)]
    assert (await _rows(db, JOB, id=str(killed.id)))[0][:2] == ("succeeded", 2)
