"""Time-stamping checkpoints against a local TSA: the job stores verified tokens, serves
them, retries failures (Procrastinate), and /readyz shows off / degraded / failing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.health import Check
from citywitness.kit.jobs import defer
from citywitness.ledger.anchors_models import AnchoringStatus, CheckpointTimestamp
from citywitness.ledger.anchors_status import TIMESTAMPS_JOB, status_readiness
from citywitness.ledger.anchors_tasks import run_timestamps, stamp_checkpoints
from citywitness.ledger.note import SignedNote
from citywitness.ledger.timestamps import REPLY_TYPE, TimestampError, load_trust_roots, verify_token
from citywitness.ledger.timestamps_service import stamp_latest, verify_stored
from citywitness.settings import Settings
from citywitness.worker import build_worker, open_jobs, run_worker
from tests.ledger.tsa import LocalTsa, make_pki, running_tsa
from tests.ledger.witness_helpers import grow, ledger_reader

STALE = timedelta(minutes=60)


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LocalTsa]:
    yield from running_tsa(tmp_path / "tsa")


def with_tsa(settings: Settings, tsa: LocalTsa, roots: Path | None = None) -> Settings:
    stamps = settings.ledger.timestamps.model_copy(
        update={"tsa_url": tsa.url, "trust_roots_file": roots or tsa.roots_file}
    )
    ledger = settings.ledger.model_copy(update={"timestamps": stamps})
    return settings.model_copy(update={"ledger": ledger})


async def _status(db: Database) -> AnchoringStatus | None:
    async with db.transaction() as session:
        return await session.get(AnchoringStatus, TIMESTAMPS_JOB)


async def _stamps(db: Database) -> list[CheckpointTimestamp]:
    async with db.transaction() as session:
        rows = await session.scalars(select(CheckpointTimestamp).order_by(CheckpointTimestamp.size))
        return list(rows)


def _check(db: Database, settings: Settings, now_offset: timedelta = timedelta()) -> Check:
    return status_readiness(
        db,
        lambda: [TIMESTAMPS_JOB] if settings.ledger.timestamps.tsa_url else [],
        stale_after=STALE,
        off_reason="no TSA configured",
        clock=lambda: utcnow() + now_offset,
    )


async def test_the_latest_checkpoint_is_stamped_stored_and_served(
    db: Database, settings: Settings, tsa: LocalTsa, client: httpx.AsyncClient
) -> None:
    settings = with_tsa(settings, tsa)
    checkpoint = await grow(db, settings, 4)
    assert await run_timestamps(db, settings) is True
    [stamp] = await _stamps(db)
    assert (stamp.size, bytes(stamp.root), stamp.tsa_url) == (4, bytes(checkpoint.root), tsa.url)
    body = SignedNote.decode(bytes(checkpoint.note)).body
    token = verify_token(bytes(stamp.token), body, load_trust_roots(tsa.roots_file))
    assert token.gen_time == stamp.gen_time
    assert str(token.serial_number) == stamp.serial_number
    async with db.transaction() as session:
        assert await verify_stored(session, settings, 4) is True
    reader = await ledger_reader(db)
    served = await client.get("/api/v1/ledger/checkpoints/4/timestamp", headers=reader.headers)
    assert served.status_code == 200
    assert served.headers["content-type"] == REPLY_TYPE
    assert served.content == bytes(stamp.token)
    missing = await client.get("/api/v1/ledger/checkpoints/3/timestamp", headers=reader.headers)
    assert (missing.status_code, missing.json()["error"]) == (404, "no_timestamp")
    assert await _check(db, settings)() is None


async def test_only_newer_checkpoints_and_only_when_due(
    db: Database, settings: Settings, tsa: LocalTsa
) -> None:
    settings = with_tsa(settings, tsa)
    await grow(db, settings, 2)
    assert (await run_timestamps(db, settings), tsa.requests) == (True, 1)
    assert (await run_timestamps(db, settings), tsa.requests) == (True, 1)  # already stamped
    await grow(db, settings, 1, start=2)
    async with httpx.AsyncClient() as client:
        early = await stamp_latest(db, settings, client)
        assert (early.stamped, early.skipped) == (False, "not due yet")
        later = await stamp_latest(db, settings, client, now=utcnow() + timedelta(minutes=11))
        assert (later.stamped, later.size) == (True, 3)
    assert [s.size for s in await _stamps(db)] == [2, 3]


async def test_a_tampered_token_does_not_verify(
    db: Database, settings: Settings, tsa: LocalTsa
) -> None:
    settings = with_tsa(settings, tsa)
    checkpoint = await grow(db, settings, 1)
    await run_timestamps(db, settings)
    [stamp] = await _stamps(db)
    body = SignedNote.decode(bytes(checkpoint.note)).body
    tampered = bytearray(bytes(stamp.token))
    tampered[-3] ^= 0x01
    with pytest.raises(TimestampError, match="does not verify"):
        verify_token(bytes(tampered), body, load_trust_roots(tsa.roots_file))
    with pytest.raises(TimestampError, match="Mismatch between messages"):
        verify_token(bytes(stamp.token), body + b"x\n", load_trust_roots(tsa.roots_file))


async def test_failures_are_degraded_then_failing_and_recover(
    db: Database, settings: Settings, tsa: LocalTsa
) -> None:
    settings = with_tsa(settings, tsa)
    await grow(db, settings, 1)
    tsa.mode = "error"
    assert await run_timestamps(db, settings) is False
    assert await run_timestamps(db, settings) is False
    status = await _status(db)
    assert status is not None
    assert (status.failures, status.last_error, status.last_success_at) == (
        2,
        "TSA answered HTTP 500",
        None,
    )
    assert status.failing_since is not None
    since = status.failing_since.isoformat(timespec="seconds")
    what = (
        f"failing since {since} (failed runs: 2; last error: TSA answered HTTP 500); "
        "last success never"
    )
    degraded = f"ok: {TIMESTAMPS_JOB}: degraded, {what}"
    assert await _check(db, settings)() == degraded
    late = _check(db, settings, timedelta(hours=2))
    assert await late() == f"{TIMESTAMPS_JOB}: {what}"
    assert await _stamps(db) == []

    tsa.mode = "ok"
    assert await run_timestamps(db, settings) is True
    recovered = await _status(db)
    assert recovered is not None
    assert (recovered.failures, recovered.failing_since, recovered.last_error) == (0, None, None)
    assert await _check(db, settings)() is None


async def test_an_untrusted_tsa_stores_nothing(
    db: Database, settings: Settings, tsa: LocalTsa, tmp_path: Path
) -> None:
    (tmp_path / "other").mkdir()
    other_root, _, _ = make_pki(tmp_path / "other", root_name="Not Our TSA")
    settings = with_tsa(settings, tsa, roots=other_root)
    await grow(db, settings, 1)
    assert await run_timestamps(db, settings) is False
    status = await _status(db)
    assert status is not None
    assert status.last_error is not None
    assert status.last_error.startswith("time stamp does not verify")
    assert await _stamps(db) == []


async def test_without_a_tsa_stamping_is_off(db: Database, settings: Settings) -> None:
    await grow(db, settings, 1)
    assert await run_timestamps(db, settings) is True
    assert await _stamps(db) == []
    assert await _check(db, settings)() == "ok: off (no TSA configured)"


def test_a_tsa_url_needs_trust_roots() -> None:
    with pytest.raises(ValueError, match="trust_roots_file is required"):
        Settings(ledger={"timestamps": {"tsa_url": "http://tsa.example"}})  # type: ignore[arg-type]


async def test_timestamp_tokens_are_append_only(db: Database) -> None:
    with pytest.raises(Exception, match="append-only"):
        async with db.transaction() as session:
            await session.execute(text("TRUNCATE ledger_timestamps"))


@pytest.fixture
async def committed_db(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=4, max_overflow=0)
    try:
        yield db
    finally:
        await db.dispose()


async def test_the_job_is_retried_by_procrastinate_until_the_tsa_answers(
    committed_db: Database, fresh_database_url: str, tsa: LocalTsa, tmp_path: Path
) -> None:
    settings = with_tsa(
        Settings(
            data_dir=tmp_path / "data",
            database={"url": fresh_database_url},  # type: ignore[arg-type]
            jobs={"in_process_worker": False, "periodic": False},  # type: ignore[arg-type]
        ),
        tsa,
    )
    await grow(committed_db, settings, 2)
    tsa.mode = "error"
    async with committed_db.transaction() as session:
        job_id = await defer(session, stamp_checkpoints)
    async with open_jobs(fresh_database_url):

        async def run() -> None:
            worker = build_worker(settings, committed_db, queues=["maintenance"], wait=False)
            await asyncio.wait_for(run_worker(worker, settings, committed_db), 60)

        await run()
        assert await _job(committed_db, job_id) == ("todo", 1)  # failed, waiting to retry
        tsa.mode = "ok"
        async with committed_db.transaction() as session:
            await session.execute(
                text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :id"),
                {"id": job_id},
            )
        await run()
    assert await _job(committed_db, job_id) == ("succeeded", 2)
    assert [s.size for s in await _stamps(committed_db)] == [2]


async def _job(db: Database, job_id: int) -> tuple[str, int]:
    async with db.transaction() as session:
        row = await session.execute(
            text("SELECT status::text, attempts FROM procrastinate_jobs WHERE id = :id"),
            {"id": job_id},
        )
        status, attempts = row.one()
    return status, attempts
