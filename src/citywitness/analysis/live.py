"""Live analysis: each accepted live segment is analysed within seconds of its arrival.

Durable path: media records a `media.segment` event in the segment's own transaction; the
`analysis.live` consumer turns each event into an `analysis:analyse_segment` job (deferred
in the consumer's transaction, with the session's live run created on its first segment).
The job stores the segment's findings and an `analysis_segments` marker in one
transaction, so a retried job changes nothing and a crash loses nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.analysis import alerting, batch, pipeline
from citywitness.analysis.models import AnalysedSegment, AnalysisRun, RunState, RunTrigger
from citywitness.kit.db import Database
from citywitness.kit.events import Consumer, Event
from citywitness.media.ingest import init_bytes
from citywitness.media.models import LiveSession, Segment
from citywitness.settings import Settings
from citywitness.storage.store import ContentStore

CONSUMER = "analysis.live"
SEGMENT_TOPIC = "media.segment"


async def live_run(session: AsyncSession, live: LiveSession, kinds: list[str]) -> AnalysisRun:
    """The session's live run (created with its first segment)."""
    run = await session.scalar(
        select(AnalysisRun).where(
            AnalysisRun.evidence_id == live.evidence_id,
            AnalysisRun.trigger == RunTrigger.LIVE.value,
        )
    )
    if run is None:
        run = AnalysisRun(
            id=uuid.uuid4(),
            evidence_id=live.evidence_id,
            department_id=live.department_id,
            analyzers=kinds,
            trigger=RunTrigger.LIVE,
            state=RunState.RUNNING,
            progress_s=0.0,
            findings_count=0,
            started_at=live.started_at,
        )
        session.add(run)
        await session.flush()
    return run


def consumer(settings: Settings, batch_size: int = 100) -> Consumer:
    """The consumer that queues one analysis job per live segment (none when no analyzer
    is configured for live segments: the events are then only passed over)."""
    from citywitness.analysis import tasks  # noqa: PLC0415 - tasks import this module

    kinds = list(settings.analysis.live)

    async def handle(session: AsyncSession, events: list[Event]) -> None:
        if not kinds:
            return
        for event in events:
            live = await session.scalar(
                select(LiveSession).where(
                    LiveSession.id == uuid.UUID(str(event.payload["session_id"]))
                )
            )
            if live is None:
                continue
            await live_run(session, live, kinds)
            await tasks.defer_segment(session, live.evidence_id, int(event.payload["seq"]))

    return Consumer(name=CONSUMER, topics=(SEGMENT_TOPIC,), handle=handle, batch_size=batch_size)


@dataclass(frozen=True)
class _Segment:
    run_id: uuid.UUID
    kinds: list[str]
    department_id: uuid.UUID
    sha256: str
    init_sha256: str | None
    start_s: float
    end_s: float
    context: alerting.Context
    watchlists: dict[str, Any]


async def _load(session: AsyncSession, evidence_id: uuid.UUID, seq: int) -> _Segment | None:
    if await session.get(AnalysedSegment, (evidence_id, seq)) is not None:
        return None
    live = await session.scalar(select(LiveSession).where(LiveSession.evidence_id == evidence_id))
    segment = None if live is None else await session.get(Segment, (live.id, seq))
    if live is None or segment is None:
        return None
    run = await live_run(session, live, [])
    if not run.analyzers:
        return None
    before = await session.scalar(
        select(func.coalesce(func.sum(Segment.duration_seconds), 0.0)).where(
            Segment.session_id == live.id, Segment.seq < seq
        )
    )
    start = float(before or 0.0)
    return _Segment(
        run_id=run.id,
        kinds=list(run.analyzers),
        department_id=live.department_id,
        sha256=segment.sha256,
        init_sha256=live.init_sha256,
        start_s=start,
        end_s=start + segment.duration_seconds,
        context=alerting.Context(live.recorder_id, live.officer_id, live.started_at),
        watchlists=await batch.load_watchlists(session, run.analyzers, live.department_id),
    )


async def analyse_segment(
    db: Database, store: ContentStore, settings: Settings, evidence_id: uuid.UUID, seq: int
) -> int:
    """Analyse one live segment once; the number of findings stored (0 on a repeat)."""
    async with db.transaction() as session:
        loaded = await _load(session, evidence_id, seq)
    if loaded is None:
        return 0
    data = await store.read_all(loaded.sha256)
    if loaded.init_sha256:
        data = await init_bytes(store, loaded.init_sha256) + data
    analyzers = batch.build_analyzers(loaded.kinds, settings, loaded.watchlists)
    source = pipeline.SegmentSource(data, loaded.start_s, name=f"segment {seq}")
    found = await asyncio.to_thread(pipeline.analyse, analyzers, source)
    shots = await batch.snapshots(store, source, found)
    async with db.transaction() as session:
        run = await session.get(AnalysisRun, loaded.run_id, with_for_update=True)
        if run is None or await session.get(AnalysedSegment, (evidence_id, seq)) is not None:
            return 0
        stored = await batch.commit_findings(
            session,
            evidence_id=evidence_id,
            department_id=loaded.department_id,
            run_id=loaded.run_id,
            segment_sha256=loaded.sha256,
            found=found,
            shots=shots,
            context=loaded.context,
        )
        session.add(
            AnalysedSegment(
                evidence_id=evidence_id,
                seq=seq,
                segment_sha256=loaded.sha256,
                run_id=loaded.run_id,
                findings_count=stored,
            )
        )
        run.findings_count += stored
        run.progress_s = max(run.progress_s, loaded.end_s)
    return stored
