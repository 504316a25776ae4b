"""Live analysis on a committed database: segments uploaded by a recorder are queued for
analysis by the `analysis.live` consumer, analysed once each (a retried job stores nothing
more) with session-relative offsets, and a finding's alert hint becomes an alert with its
snapshot, evidence link and recorder; resolving the alert confirms the finding."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from citywitness.alerts.kinds import Action
from citywitness.alerts.models import Alert
from citywitness.alerts.service import transition
from citywitness.analysis import live
from citywitness.analysis.models import AnalysedSegment, AnalysisRun, StoredFinding
from citywitness.app import create_app
from citywitness.evidence import runtime
from citywitness.kit.db import Database
from citywitness.kit.events import consume_once
from citywitness.media.models import SegmentFormat
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.alerts.helpers import drain
from tests.analysis.conftest import with_analysis
from tests.devices.helpers import make_enrolled
from tests.evidence.core.helpers import make_store
from tests.media.helpers import Pieces, make_pieces, open_session, send_all, sha


@pytest.fixture(scope="module")
def pieces(tmp_path_factory: pytest.TempPathFactory) -> Pieces:
    return make_pieces(tmp_path_factory.mktemp("live"), SegmentFormat.FMP4)  # 2, 2, 2, 1 s


@pytest.fixture
def live_settings(tmp_path: Path, committed_db: Database) -> Settings:
    base = Settings(
        data_dir=tmp_path / "data",
        database={"url": str(committed_db.url)},  # type: ignore[arg-type]
        jobs={"in_process_worker": False},  # type: ignore[arg-type]
    )
    return with_analysis(base, live=["ticks"], analyzers={"ticks": {"alert_at_s": 3.0}})


@pytest.fixture
def live_store(committed_db: Database, tmp_path: Path) -> ContentStore:
    store = make_store(committed_db, tmp_path / "store")
    runtime.register_store(committed_db, store)
    return store


@pytest.fixture
async def live_client(
    live_settings: Settings, committed_db: Database, live_store: ContentStore
) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(live_settings, committed_db)
    application.state.content_store = live_store
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _one(db: Database, sql: str, **params: object) -> object:
    async with db.transaction() as session:
        return (await session.execute(text(sql), params)).scalar_one()


async def test_segments_analysed_once_with_session_offsets_and_alert(
    committed_db: Database,
    live_client: httpx.AsyncClient,
    live_store: ContentStore,
    live_settings: Settings,
    pieces: Pieces,
) -> None:
    db = committed_db
    device = await make_enrolled(db)
    opened = await open_session(live_client, device, pieces)
    answers = await send_all(live_client, device, opened, pieces)
    assert [a.status_code for a in answers] == [201] * 4
    evidence_id = uuid.UUID(opened["evidence_id"])

    consumer = live.consumer(live_settings)
    assert await consume_once(db, consumer) == 4
    assert await consume_once(db, consumer) == 0
    jobs = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'analysis:analyse_segment'"
    assert await _one(db, jobs) == 4

    stored = [
        await live.analyse_segment(db, live_store, live_settings, evidence_id, seq)
        for seq in range(4)
    ]
    assert stored == [2, 2, 2, 1]
    retried = [
        await live.analyse_segment(db, live_store, live_settings, evidence_id, seq)
        for seq in range(4)
    ]
    assert retried == [0, 0, 0, 0]

    async with db.transaction() as session:
        rows = list(
            await session.scalars(
                select(StoredFinding)
                .where(StoredFinding.evidence_id == evidence_id)
                .order_by(StoredFinding.offset_s)
            )
        )
        run = await session.scalar(
            select(AnalysisRun).where(AnalysisRun.evidence_id == evidence_id)
        )
        marks = list(
            await session.scalars(select(AnalysedSegment.seq).order_by(AnalysedSegment.seq))
        )
    assert [(r.offset_s, r.attributes["text"]) for r in rows] == [
        (float(s), f"tick{s}") for s in range(7)
    ]
    assert [r.segment_sha256 for r in rows] == [
        sha(pieces.segments[seq]) for seq in (0, 0, 1, 1, 2, 2, 3)
    ]
    assert run is not None
    assert (run.trigger, run.state, run.analyzers, run.progress_s, run.findings_count) == (
        "live",
        "running",
        ["ticks"],
        7.0,
        7,
    )
    assert marks == [0, 1, 2, 3]

    await drain(db)
    tick3 = rows[3]
    async with db.transaction() as session:
        alerts = list(await session.scalars(select(Alert)))
        assert len(alerts) == 1
        alert = alerts[0]
        assert (alert.kind, alert.severity, alert.title) == ("keyword", "high", "tick 3")
        assert alert.recorder_id == device.identity.device_id
        assert alert.evidence_ids == [evidence_id]
        assert alert.snapshot_sha256 == tick3.snapshot_sha256
        assert alert.details["finding_id"] == tick3.id
        locked = await session.get(Alert, alert.id, with_for_update=True)
        assert locked is not None
        assert await transition(session, locked, Action.RESOLVE, actor=None, note=None)
    assert (await live_store.read_all(str(tick3.snapshot_sha256)))[:2] == b"\xff\xd8"
    async with db.transaction() as session:
        reviewed = await session.get(StoredFinding, tick3.id)
        assert reviewed is not None
        assert reviewed.review == "confirmed"
