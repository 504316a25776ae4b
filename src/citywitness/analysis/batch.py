"""Executing a batch run: the item's content, analysed chunk by chunk of media time.

Each chunk's findings, their alert events and the run's `progress_s` commit in one
transaction, under the run's row lock and only if the progress is still the one the chunk
started from.  A worker that dies mid-chunk loses only that chunk's uncommitted work; the
retried job starts again at `progress_s`: no finding is stored twice or lost.  A
cancelled run stops at the next chunk boundary.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.analysis import alerting, contracts, findings, pipeline
from citywitness.analysis.contracts import Analyzer, Finding
from citywitness.analysis.media_source import MediaSource, MediaUnreadable
from citywitness.analysis.models import AnalysisRun, RunState
from citywitness.analysis.modelzoo import ModelUnavailable
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage.store import ContentStore

log = logging.getLogger(__name__)


async def load_watchlists(
    session: AsyncSession, kinds: Sequence[str], department_id: uuid.UUID
) -> dict[str, Any]:
    """The watch list in force for the department, per kind that has one."""
    pipeline.load_analyzers()  # a job may run in a process that has not loaded them yet
    lists: dict[str, Any] = {}
    for kind in kinds:
        loader = contracts.watchlist_from_db(kind)
        if loader is not None:
            lists[kind] = await loader(session, [department_id])
    return lists


def build_analyzers(
    kinds: Sequence[str], settings: Settings, watchlists: dict[str, Any]
) -> list[Analyzer]:
    return [
        contracts.build(pipeline.config_for(k, settings.analysis), watchlist=watchlists.get(k))
        for k in kinds
    ]


async def store_snapshot(store: ContentStore, jpeg: bytes) -> str:
    writer = await store.open_writer(expected_size=len(jpeg))
    await writer.write(jpeg)
    return (await writer.finish()).sha256


async def snapshots(
    store: ContentStore, source: MediaSource, found: Sequence[Finding]
) -> dict[int, str]:
    """Snapshot SHA-256 by position in `found`, for the findings that raise an alert."""
    shas: dict[int, str] = {}
    for i, finding in enumerate(found):
        if finding.alert is None:
            continue
        box = None if finding.box is None else finding.box.as_dict()
        image = await asyncio.to_thread(pipeline.frame_at, source, finding.offset_s)
        if image is not None:
            jpeg = await asyncio.to_thread(pipeline.snapshot_jpeg, image, box)
            shas[i] = await store_snapshot(store, jpeg)
    return shas


async def commit_findings(
    session: AsyncSession,
    *,
    evidence_id: uuid.UUID,
    department_id: uuid.UUID,
    run_id: uuid.UUID,
    segment_sha256: str | None,
    found: Sequence[Finding],
    shots: dict[int, str],
    context: alerting.Context,
) -> int:
    """Store findings and record the alert events of those that carry a hint."""
    rows = await findings.store(
        session,
        evidence_id=evidence_id,
        department_id=department_id,
        run_id=run_id,
        segment_sha256=segment_sha256,
        findings=found,
        snapshots=shots,
    )
    now = utcnow()
    for i, (row, finding) in enumerate(zip(rows, found, strict=True)):
        if finding.alert is not None:
            await alerting.record_alert(
                session, row, finding.alert, context, snapshot_sha256=shots.get(i), now=now
            )
    return len(rows)


@dataclass(frozen=True)
class _Started:
    kinds: list[str]
    progress_s: float
    sha256: str
    suffix: str
    department_id: uuid.UUID
    evidence_id: uuid.UUID
    context: alerting.Context
    watchlists: dict[str, Any]


async def _start(db: Database, run_id: uuid.UUID) -> _Started | None:
    async with db.transaction() as session:
        run = await session.get(AnalysisRun, run_id, with_for_update=True)
        if run is None or RunState(run.state).finished:
            return None
        item = await session.get(EvidenceItem, run.evidence_id)
        if item is None:
            return None
        run.state = RunState.RUNNING
        run.started_at = run.started_at or utcnow()
        return _Started(
            kinds=list(run.analyzers),
            progress_s=run.progress_s,
            sha256=item.sha256,
            suffix=Path(item.original_filename).suffix[:10],
            department_id=item.department_id,
            evidence_id=item.id,
            context=alerting.Context(
                await alerting.recorder_by_serial(session, item.recorder_serial),
                item.officer_id,
                item.captured_start,
            ),
            watchlists=await load_watchlists(session, run.analyzers, item.department_id),
        )


async def _finish(db: Database, run_id: uuid.UUID, state: RunState, error: str | None) -> None:
    async with db.transaction() as session:
        run = await session.get(AnalysisRun, run_id, with_for_update=True)
        if run is not None and not RunState(run.state).finished:
            run.state = state
            run.error = error
            run.finished_at = utcnow()


async def execute(db: Database, store: ContentStore, settings: Settings, run_id: uuid.UUID) -> None:
    """Run (or resume) a batch run to its end, its cancellation or its failure."""
    started = await _start(db, run_id)
    if started is None:
        return
    with tempfile.TemporaryDirectory(prefix="cw-analysis-") as tmp:
        path = Path(tmp) / f"content{started.suffix}"
        path.write_bytes(await store.read_all(started.sha256))
        try:
            analyzers = build_analyzers(started.kinds, settings, started.watchlists)
            duration = await asyncio.to_thread(MediaSource(path).duration_s)
            await _chunks(db, store, settings, run_id, started, analyzers, path, duration)
        except (MediaUnreadable, ModelUnavailable) as exc:
            log.warning("analysis run failed", extra={"run_id": str(run_id), "error": str(exc)})
            await _finish(db, run_id, RunState.FAILED, str(exc)[:2000])


async def _chunks(  # noqa: PLR0917 - the run's parts, private
    db: Database,
    store: ContentStore,
    settings: Settings,
    run_id: uuid.UUID,
    started: _Started,
    analyzers: list[Analyzer],
    path: Path,
    duration: float,
) -> None:
    progress = started.progress_s
    step, overlap = settings.analysis.chunk_seconds, settings.analysis.chunk_overlap_s
    while True:
        end = duration if duration <= 0 else min(progress + step, duration)
        source: MediaSource = MediaSource(path)
        if duration > 0:
            source = pipeline.ChunkSource(path, progress, end, overlap)
        found = await asyncio.to_thread(pipeline.analyse, analyzers, source)
        if isinstance(source, pipeline.ChunkSource):
            last = end >= duration
            found = [f for f in found if source.owns(f, last=last)]
        shots = await snapshots(store, source, found)
        async with db.transaction() as session:
            run = await session.get(AnalysisRun, run_id, with_for_update=True)
            if run is None or run.state != RunState.RUNNING or run.progress_s != progress:
                return  # cancelled, or another worker moved it on
            run.findings_count += await commit_findings(
                session,
                evidence_id=started.evidence_id,
                department_id=started.department_id,
                run_id=run_id,
                segment_sha256=started.sha256,
                found=found,
                shots=shots,
                context=started.context,
            )
            run.progress_s = end
            if end >= duration:
                run.state = RunState.DONE
                run.duration_s = duration
                run.finished_at = utcnow()
                return
        progress = end
