"""Ending and sealing a session: its segments joined into the evidence item's content.

The sealed item's content is the concatenation, in sequence order, of the init segment
(fMP4) and every accepted segment: a valid fragmented MP4 or MPEG-TS stream that plays
through the normal playback endpoint.  Its SHA-256 is computed while the stored segments
are streamed (decrypted) into one new stored object; it becomes the item's `sha256`.

Three steps, each safe to repeat, so a crash anywhere converges on the next attempt
(`POST .../end` again, or the `media:seal_idle_sessions` job):
1. the session is marked `sealing` (committed): no segment is accepted any more;
2. the content is built and stored (content-addressed: a second build stores nothing new);
3. one transaction updates the item (hash, size, facts, state `active`, the GPS track from
   the recorder's positions: `track.py`), records the
   custody event `evidence.ingest` (audit + ledger `evidence.ingested`, channel `live`),
   reports sequence numbers that never arrived, and marks the session `sealed`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification
from citywitness.audit.service import Auditor
from citywitness.evidence import custody, tasks
from citywitness.evidence.errors import MediaTypeMismatch
from citywitness.evidence.ingest import read_facts
from citywitness.evidence.media import MediaFacts
from citywitness.evidence.models import EvidenceItem, EvidenceState
from citywitness.evidence.retention import retain_until_for
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.media import reports, track
from citywitness.media.errors import SessionContentDuplicate
from citywitness.media.models import LiveSession, ReportKind, Segment, SessionState
from citywitness.storage import ContentStore, StoredObject, lock_live_key

EVIDENCE = "evidence"


@dataclass(frozen=True)
class SealContext:
    """Who ends the session, for the audit trail: the device, or the system (a timeout)."""

    actor_kind: str  # "device" | "system"
    client_address: str | None = None
    request_id: str | None = None


async def end_session(
    db: Database, store: ContentStore, session_id: uuid.UUID, *, reason: str, ctx: SealContext
) -> LiveSession:
    """End (if live) and seal a session; a sealed or failed one is returned as it is."""
    async with db.transaction() as session:
        live = await _locked(session, session_id)
        if live.state == SessionState.LIVE:
            live.state = SessionState.SEALING
            live.ended_at = utcnow()
            live.end_reason = reason
        if live.state != SessionState.SEALING:
            return live
        pieces = await _pieces(session, live)
    stored = await _join(store, pieces, live.init_size + live.bytes)
    try:
        facts = await read_facts(store, stored, None)
    except MediaTypeMismatch as exc:
        return await _fail(db, session_id, {"error": exc.code, "sha256": stored.sha256})
    async with db.transaction() as session:
        live = await _locked(session, session_id)
        if live.state != SessionState.SEALING:
            return live
        try:
            await _finish(session, live, stored, facts, ctx)
        except SessionContentDuplicate as exc:
            error = exc
        else:
            return live
    return await _fail(db, session_id, {"error": error.code, **(error.fields or {})})


async def _locked(session: AsyncSession, session_id: uuid.UUID) -> LiveSession:
    live = await session.scalar(
        select(LiveSession).where(LiveSession.id == session_id).with_for_update()
    )
    if live is None:
        raise LookupError(f"no live session {session_id}")
    return live


async def _pieces(session: AsyncSession, live: LiveSession) -> list[str]:
    seqs = await session.scalars(
        select(Segment.sha256).where(Segment.session_id == live.id).order_by(Segment.seq)
    )
    head = [live.init_sha256] if live.init_sha256 else []
    return head + list(seqs)


async def _join(store: ContentStore, pieces: list[str], size: int) -> StoredObject:
    """Stream the stored pieces, decrypted, into one new object (hashed as it is written)."""
    writer = await store.open_writer(expected_size=size)
    try:
        for sha256 in pieces:
            async for chunk in store.read_range(sha256):
                await writer.write(chunk)
    except BaseException:
        await writer.abort()
        raise
    return await writer.finish()


async def _finish(
    session: AsyncSession,
    live: LiveSession,
    stored: StoredObject,
    facts: MediaFacts,
    ctx: SealContext,
) -> None:
    item = await session.get(EvidenceItem, live.evidence_id, with_for_update=True)
    if item is None or not await lock_live_key(session, stored.sha256):
        raise SessionContentDuplicate(fields={"sha256": stored.sha256, "reason": "not stored"})
    other = await session.scalar(
        select(EvidenceItem.id).where(
            EvidenceItem.department_id == item.department_id,
            EvidenceItem.sha256 == stored.sha256,
            EvidenceItem.id != item.id,
        )
    )
    if other is not None:
        raise SessionContentDuplicate(fields={"sha256": stored.sha256, "evidence_id": str(other)})
    now = utcnow()
    missing = await _missing(session, live)
    item.sha256 = stored.sha256
    item.size_bytes = stored.size
    item.state = EvidenceState.ACTIVE
    item.video_codec, item.audio_codec = facts.video_codec, facts.audio_codec
    item.width, item.height = facts.width, facts.height
    item.duration_seconds = live.duration_seconds
    item.media_facts = {
        **facts.extra,
        "live_session_id": str(live.id),
        "segments": live.segments,
        "missing_segments": missing,
        "genesis": live.genesis,
    }
    item.retain_until = retain_until_for(None, item.captured_start or now, now)
    await track.place(session, live, item)  # where it was recorded: the recorder's positions
    live.state = SessionState.SEALED
    live.sealed_at = now
    live.final_sha256 = stored.sha256
    await session.flush()
    if missing:
        await reports.record(
            session,
            session_id=live.id,
            department_id=live.department_id,
            kind=ReportKind.UNFILLED_GAP,
            details={"missing": missing[:1000], "count": len(missing)},
        )
    await _custody(session, live, item, ctx, missing)
    await tasks.defer_derivatives(session, item.id)


async def _missing(session: AsyncSession, live: LiveSession) -> list[int]:
    have = set(await session.scalars(select(Segment.seq).where(Segment.session_id == live.id)))
    return [seq for seq in range(live.max_seq + 1) if seq not in have]


async def _custody(
    session: AsyncSession,
    live: LiveSession,
    item: EvidenceItem,
    ctx: SealContext,
    missing: list[int],
) -> None:
    auditor = Auditor(
        session=session,
        actor=None,
        client_address=ctx.client_address,
        request_id=ctx.request_id,
        actor_kind=ctx.actor_kind,
    )
    await custody.record(
        auditor,
        "evidence.ingest",
        object_id=item.id,
        department_id=item.department_id,
        details={
            "sha256": item.sha256,
            "size_bytes": item.size_bytes,
            "kind": item.kind,
            "channel": item.ingest_channel,
            "classification": Classification(item.classification).label,
            "session_id": str(live.id),
        },
        ledger_details={
            "session_id": str(live.id),
            "segments": live.segments,
            "missing_segments": len(missing),
            "end_reason": live.end_reason,
        },
    )


async def _fail(db: Database, session_id: uuid.UUID, details: dict[str, object]) -> LiveSession:
    async with db.transaction() as session:
        live = await _locked(session, session_id)
        if live.state == SessionState.SEALING:
            live.state = SessionState.FAILED
            await reports.record(
                session,
                session_id=live.id,
                department_id=live.department_id,
                kind=ReportKind.SEAL_FAILED,
                details=details,
            )
        return live


async def idle_sessions(session: AsyncSession, *, before: datetime, limit: int) -> list[uuid.UUID]:
    """Live sessions silent since `before`, and sessions left `sealing` (a crash), oldest first."""
    found = await session.scalars(
        select(LiveSession.id)
        .where(
            ((LiveSession.state == SessionState.LIVE) & (LiveSession.last_segment_at < before))
            | (LiveSession.state == SessionState.SEALING)
        )
        .order_by(LiveSession.last_segment_at)
        .limit(limit)
    )
    return list(found)


async def referenced_shas(session: AsyncSession, sha256s: list[str]) -> set[str]:
    """Which of `sha256s` are segments (or init segments) of sessions not sealed.

    The media side of the storage sweep's `is_referenced`: until a session is sealed its
    segments are the only copy of the recording.  Once sealed, the item's content holds the
    same bytes (each segment is the slice the chain's hashes name) and the segment objects
    are left to the sweep.
    """
    if not sha256s:
        return set()
    unsealed = LiveSession.state != SessionState.SEALED
    segments = (
        select(Segment.sha256)
        .join(LiveSession, LiveSession.id == Segment.session_id)
        .where(Segment.sha256.in_(sha256s), unsealed)
    )
    inits = select(LiveSession.init_sha256).where(LiveSession.init_sha256.in_(sha256s), unsealed)
    found = await session.scalars(segments.union(inits))
    return {sha for sha in found if sha is not None}
