"""Batch runs on a real database with the `ticks` test analyzer: chunked, every finding
stored once with its provenance, resumed from `progress_s`, cancelled at a chunk boundary;
alert hints recorded as events with a snapshot the storage sweep keeps; chunk windows
(audio decoded for the window only, a phrase across a boundary found once, whole)."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from citywitness.analysis import batch, contracts, findings, runs
from citywitness.analysis.media_source import MediaSource
from citywitness.analysis.models import AnalysisRun, RunState, RunTrigger, StoredFinding
from citywitness.analysis.pipeline import ChunkSource, analyse
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.kit.events import OutboxEvent
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.analysis.pipeline_ticks import MODEL
from tests.analysis.test_speech import espeak

TICKS = [(float(s), f"tick{s}") for s in range(6)]


async def start(db: Database, item: EvidenceItem, kinds: tuple[str, ...] = ("ticks",)) -> uuid.UUID:
    async with db.transaction() as session:
        run = await runs.create(session, item, list(kinds), trigger=RunTrigger.MANUAL)
        return run.id


async def run_row(db: Database, run_id: uuid.UUID) -> AnalysisRun:
    async with db.transaction() as session:
        found = await session.get(AnalysisRun, run_id, populate_existing=True)
        assert found is not None
        return found


async def stored(db: Database, run_id: uuid.UUID) -> list[StoredFinding]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(StoredFinding)
            .where(StoredFinding.run_id == run_id)
            .order_by(StoredFinding.offset_s, StoredFinding.id)
            .execution_options(populate_existing=True)
        )
        return list(rows)


async def test_a_run_stores_every_finding_once_with_provenance(
    db: Database, store: ContentStore, item: EvidenceItem, ticks_settings: Settings
) -> None:
    run_id = await start(db, item)
    assert (await run_row(db, run_id)).state == RunState.QUEUED
    await batch.execute(db, store, ticks_settings, run_id)

    run = await run_row(db, run_id)
    assert (run.state, run.progress_s, run.duration_s, run.findings_count, run.error) == (
        RunState.DONE,
        6.0,
        6.0,
        6,
        None,
    )
    assert run.started_at is not None and run.finished_at is not None
    rows = await stored(db, run_id)
    assert [(r.offset_s, r.attributes["text"]) for r in rows] == TICKS
    first = rows[0]
    assert (first.evidence_id, first.department_id, first.segment_sha256) == (
        item.id,
        item.department_id,
        item.sha256,
    )
    assert (first.analyzer, first.label, first.confidence, first.duration_s) == (
        "ticks",
        "tick",
        0.9,
        0.5,
    )
    assert (first.model_name, first.model_version, first.model_sha256) == (
        MODEL.name,
        MODEL.version,
        MODEL.sha256,
    )
    assert first.box == {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5}
    assert first.vector == [0.5, 0.25]
    assert [r.alert_kind for r in rows] == [None, None, None, "keyword", None, None]

    again = await batch.execute(db, store, ticks_settings, run_id)  # a finished run: no-op
    assert again is None
    assert len(await stored(db, run_id)) == 6


async def test_alert_hint_records_an_event_with_a_kept_snapshot(
    db: Database, store: ContentStore, item: EvidenceItem, ticks_settings: Settings
) -> None:
    run_id = await start(db, item)
    await batch.execute(db, store, ticks_settings, run_id)
    tick3 = (await stored(db, run_id))[3]
    async with db.transaction() as session:
        events = list(
            await session.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.topic == "analysis.alert",
                    OutboxEvent.source_id == str(tick3.id),
                )
            )
        )
        assert len(events) == 1
        payload = events[0].payload
        assert await findings.referenced_shas(session, [tick3.snapshot_sha256 or "", "0" * 64]) == {
            tick3.snapshot_sha256
        }
    assert tick3.snapshot_sha256 is not None
    assert payload == {
        "finding_id": tick3.id,
        "kind": "keyword",
        "severity": "high",
        "title": "tick 3",
        "analyzer": "ticks",
        "label": "tick",
        "evidence_id": str(item.id),
        "department_id": str(item.department_id),
        "offset_s": 3.0,
        "segment_sha256": item.sha256,
        "recorder_id": None,
        "officer_id": None,
        "at": payload["at"],
        "lat": None,
        "lon": None,
        "snapshot_sha256": tick3.snapshot_sha256,
        "watchlist_entry_id": None,
    }
    jpeg = await store.read_all(tick3.snapshot_sha256)
    assert jpeg[:3] == b"\xff\xd8\xff"


async def test_resume_starts_at_progress_and_cancel_stops(
    db: Database, store: ContentStore, item: EvidenceItem, ticks_settings: Settings
) -> None:
    resumed = await start(db, item)
    async with db.transaction() as session:  # as a worker that died after two chunks left it
        await session.execute(
            update(AnalysisRun)
            .where(AnalysisRun.id == resumed)
            .values(state=RunState.RUNNING, progress_s=4.0)
        )
    await batch.execute(db, store, ticks_settings, resumed)
    run = await run_row(db, resumed)
    assert (run.state, run.progress_s, run.findings_count) == (RunState.DONE, 6.0, 2)
    assert [(r.offset_s, r.attributes["text"]) for r in await stored(db, resumed)] == TICKS[4:]

    cancelled = await start(db, item)
    async with db.transaction() as session:
        await session.execute(
            update(AnalysisRun).where(AnalysisRun.id == cancelled).values(state=RunState.CANCELLED)
        )
    await batch.execute(db, store, ticks_settings, cancelled)
    run = await run_row(db, cancelled)
    assert (run.state, run.progress_s, run.findings_count) == (RunState.CANCELLED, 0.0, 0)
    assert await stored(db, cancelled) == []


@pytest.mark.models
def test_chunk_audio_is_the_window_only(tmp_path: Path) -> None:
    clip = espeak(tmp_path, "one two")
    whole = MediaSource(clip).audio()
    chunk = ChunkSource(clip, 1.0, 2.0, overlap_s=0.5)
    assert chunk.base_offset_s == 0.5
    assert np.array_equal(chunk.audio(), whole[8000:40000])
    assert ChunkSource(clip, 0.0, 1.0, overlap_s=0.5).audio().shape == (24000,)


@pytest.mark.models
def test_a_phrase_across_a_chunk_boundary_is_found_once_whole(tmp_path: Path) -> None:
    clip = espeak(tmp_path, "Drop the weapon now.", pad_s=1.0)
    speech = contracts.build(contracts.parse_config({"kind": "speech"}))
    whole = [f for f in analyse([speech], MediaSource(clip)) if f.label == "speech"]
    assert len(whole) == 1
    boundary = whole[0].offset_s + 0.6  # inside the phrase
    parts = []
    for start, end, last in ((0.0, boundary, False), (boundary, 10.0, True)):
        source = ChunkSource(clip, start, end, overlap_s=3.0)
        parts += [f for f in analyse([speech], source) if source.owns(f, last=last)]
    said = [f for f in parts if f.label == "speech"]
    assert len(said) == 1
    assert said[0].attributes["text"] == whole[0].attributes["text"]
    assert abs(said[0].offset_s - whole[0].offset_s) < 0.3
