"""Accepting one live segment: digest, media check, vault, chain, ledger (docs/media.md).

Three units of work, so that no database transaction stays open while a body arrives or
bytes are encrypted: (1) the session is looked up; (2) outside any transaction the digest
is checked, the media probed (in a thread) and the bytes stored through the vault
(content-addressed, so a retry stores nothing twice); (3) one transaction locks the session
row, checks duplicates and the chain, inserts the segment, grows the evidence item and
appends the ledger entry.  A refused segment leaves a report committed on its own
(`reports.record_refusal`); its stored bytes, if any, are unreferenced and swept later.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.principal import DeviceIdentity
from citywitness.evidence.models import EvidenceItem
from citywitness.evidence.quotas import check_quota
from citywitness.kit import events
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.ledger import service as ledger
from citywitness.ledger.events import LedgerActor, LedgerEvent, LedgerKind
from citywitness.media import chain, reports
from citywitness.media.errors import (
    SegmentChainBroken,
    SegmentConflict,
    SegmentDigestMismatch,
    SegmentNotMedia,
    SegmentRejected,
    SegmentTooLong,
    SessionEnded,
)
from citywitness.media.models import LiveSession, ReportKind, Segment, SegmentFormat, SessionState
from citywitness.media.probe import NotASegment, SegmentFacts, probe_segment
from citywitness.media.schemas import SegmentOut
from citywitness.media.sessions import EVIDENCE, own_session
from citywitness.storage import ContentStore

REFUSAL_KINDS: dict[type[SegmentRejected], ReportKind] = {
    SegmentDigestMismatch: ReportKind.DIGEST_MISMATCH,
    SegmentConflict: ReportKind.CONFLICT,
    SegmentChainBroken: ReportKind.CHAIN_BROKEN,
    SegmentNotMedia: ReportKind.NOT_MEDIA,
    SegmentTooLong: ReportKind.NOT_MEDIA,
}
_INITS: OrderedDict[str, bytes] = OrderedDict()  # init segments by SHA-256, a small LRU
_INIT_CACHE = 64


@dataclass(frozen=True)
class SegmentUpload:
    session_id: uuid.UUID
    seq: int
    sha256: str  # declared by the recorder
    prev_sha256: str  # declared by the recorder
    data: bytes


async def init_bytes(store: ContentStore, sha256: str) -> bytes:
    found = _INITS.get(sha256)
    if found is None:
        found = await store.read_all(sha256)
        _INITS[sha256] = found
        if len(_INITS) > _INIT_CACHE:
            _INITS.popitem(last=False)
    else:
        _INITS.move_to_end(sha256)
    return found


async def ingest_segment(
    db: Database,
    store: ContentStore,
    device: DeviceIdentity,
    upload: SegmentUpload,
    *,
    max_seconds: float,
) -> SegmentOut:
    """Accept `upload` into its session, or refuse it (and commit a report saying why)."""
    async with db.transaction() as session:
        live = await own_session(session, device, upload.session_id)
    try:
        return await _ingest(db, store, device, live, upload, max_seconds)
    except SegmentRejected as error:
        kind = REFUSAL_KINDS[type(error)]
        await reports.record_refusal(
            db,
            error,
            session_id=live.id,
            department_id=live.department_id,
            kind=kind,
            seq=upload.seq,
        )
        raise


async def _ingest(  # noqa: PLR0917 - one upload's parts, private
    db: Database,
    store: ContentStore,
    device: DeviceIdentity,
    live: LiveSession,
    upload: SegmentUpload,
    max_seconds: float,
) -> SegmentOut:
    actual = chain.sha256_hex(upload.data)
    if actual != upload.sha256:
        raise SegmentDigestMismatch(fields={"declared": upload.sha256, "actual": actual})
    async with db.transaction() as session:  # refuse early what the chain already refuses
        ready = await _verify(session, live, upload)
    if isinstance(ready, SegmentOut):
        return ready
    fmt = SegmentFormat(live.format)
    init = await init_bytes(store, live.init_sha256) if live.init_sha256 else None
    try:
        facts = await asyncio.to_thread(probe_segment, upload.data, fmt, init)
    except NotASegment as exc:
        raise SegmentNotMedia(fields={"segment": str(exc), "format": fmt.value}) from None
    if facts.duration_seconds > max_seconds:
        raise SegmentTooLong(fields={"duration_seconds": facts.duration_seconds})
    writer = await store.open_writer(expected_size=len(upload.data))
    await writer.write(upload.data)
    await writer.finish(expected_sha256=actual)
    async with db.transaction() as session:
        return await accept(session, device, upload, facts, now=utcnow())


async def accept(
    session: AsyncSession,
    device: DeviceIdentity,
    upload: SegmentUpload,
    facts: SegmentFacts,
    *,
    now: datetime,
) -> SegmentOut:
    """Under the session's row lock: duplicate, chain, insert, grow the item, ledger."""
    live = await own_session(session, device, upload.session_id, lock=True)
    verified = await _verify(session, live, upload)
    if isinstance(verified, SegmentOut):
        return verified
    gap = [live.max_seq + 1, upload.seq - 1] if upload.seq > live.max_seq + 1 else None
    late = upload.seq < live.max_seq
    await check_quota(session, live.department_id, len(upload.data))
    segment = Segment(
        session_id=live.id,
        seq=upload.seq,
        sha256=upload.sha256,
        prev_sha256=upload.prev_sha256,
        size_bytes=len(upload.data),
        duration_seconds=facts.duration_seconds,
        late=late,
        received_at=now,
    )
    session.add(segment)
    await session.flush()
    await _grow(session, live, segment, now)
    await _note(session, live, upload.seq, gap=gap, late=late)
    await events.record(  # analysis of live segments consumes these (analysis/live.py)
        session,
        "media.segment",
        upload.sha256,
        {"session_id": str(live.id), "evidence_id": str(live.evidence_id), "seq": upload.seq},
    )
    await ledger.append(
        session,
        LedgerEvent(
            kind=LedgerKind.MEDIA_SEGMENT_INGESTED,
            object_type=EVIDENCE,
            object_id=live.evidence_id,
            department_id=live.department_id,
            actor=LedgerActor("device", device.device_id),
            details={
                "session_id": str(live.id),
                "seq": upload.seq,
                "sha256": upload.sha256,
                "prev_sha256": upload.prev_sha256,
                "size_bytes": len(upload.data),
                "late": late,
            },
        ),
    )
    return _answer(segment, duplicate=False, chain_verified=verified, gap=gap)


async def _verify(
    session: AsyncSession, live: LiveSession, upload: SegmentUpload
) -> SegmentOut | bool:
    """The answer to a retry (same seq, same bytes), or whether the chain link is verified."""
    existing = await _segment(session, live.id, upload.seq)
    if existing is not None:
        if existing.sha256 != upload.sha256:
            raise SegmentConflict(fields={"seq": upload.seq, "stored_sha256": existing.sha256})
        return _answer(existing, duplicate=True, chain_verified=True, gap=None)
    if live.state != SessionState.LIVE:
        raise SessionEnded(fields={"state": live.state})
    return await _check_chain(session, live, upload)


async def _segment(session: AsyncSession, session_id: uuid.UUID, seq: int) -> Segment | None:
    return await session.get(Segment, (session_id, seq))


async def _check_chain(session: AsyncSession, live: LiveSession, upload: SegmentUpload) -> bool:
    """Refuse a segment that does not link to its known neighbours; True if `prev` is known."""
    if upload.seq == 0:
        expected: str | None = live.genesis
    else:
        before = await _segment(session, live.id, upload.seq - 1)
        expected = before.sha256 if before is not None else None
    if expected is not None and upload.prev_sha256 != expected:
        raise SegmentChainBroken(
            fields={"seq": upload.seq, "prev_sha256": upload.prev_sha256, "expected": expected}
        )
    after = await _segment(session, live.id, upload.seq + 1)
    if after is not None and after.prev_sha256 != upload.sha256:
        raise SegmentChainBroken(
            fields={"seq": upload.seq, "next_seq_names_prev": after.prev_sha256}
        )
    return expected is not None


async def _grow(session: AsyncSession, live: LiveSession, segment: Segment, now: datetime) -> None:
    live.segments += 1
    live.bytes += segment.size_bytes
    live.duration_seconds = round(live.duration_seconds + segment.duration_seconds, 6)
    live.max_seq = max(live.max_seq, segment.seq)
    live.last_segment_at = now
    if segment.seq == live.contiguous_seq + 1:
        later = await session.scalars(
            select(Segment.seq)
            .where(Segment.session_id == live.id, Segment.seq > segment.seq)
            .order_by(Segment.seq)
        )
        head = segment.seq
        for seq in later:
            if seq != head + 1:
                break
            head = seq
        live.contiguous_seq = head
    await session.execute(
        update(EvidenceItem)
        .where(EvidenceItem.id == live.evidence_id)
        .values(
            size_bytes=live.init_size + live.bytes,
            duration_seconds=live.duration_seconds,
            captured_end=live.started_at + timedelta(seconds=live.duration_seconds),
        )
    )
    await session.flush()


async def _note(
    session: AsyncSession, live: LiveSession, seq: int, *, gap: list[int] | None, late: bool
) -> None:
    if gap is not None:
        await reports.record(
            session,
            session_id=live.id,
            department_id=live.department_id,
            kind=ReportKind.GAP,
            seq=seq,
            details={"missing_from": gap[0], "missing_to": gap[1]},
        )
    if late:
        await reports.record(
            session,
            session_id=live.id,
            department_id=live.department_id,
            kind=ReportKind.LATE,
            seq=seq,
            details={"max_seq": live.max_seq},
        )


def _answer(
    segment: Segment, *, duplicate: bool, chain_verified: bool, gap: list[int] | None
) -> SegmentOut:
    return SegmentOut(
        session_id=segment.session_id,
        seq=segment.seq,
        sha256=segment.sha256,
        duplicate=duplicate,
        late=segment.late,
        chain_verified=chain_verified,
        gap=gap,
        duration_seconds=segment.duration_seconds,
    )
