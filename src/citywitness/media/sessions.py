"""Opening a live session: the session row and its evidence item (state `live`), at once.

The item exists from the first moment, so the recording is findable (search lists live
items) and counted against the department's quota as it grows.  While live, its `sha256`
holds the session's genesis value (no content has a final hash yet); sealing replaces it
with the SHA-256 of the joined content (media/seal.py).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification
from citywitness.audit.service import Auditor
from citywitness.devices.presence import officer_at
from citywitness.devices.principal import DeviceIdentity
from citywitness.evidence import search_index
from citywitness.evidence.models import EvidenceItem, EvidenceKind, EvidenceState, IngestChannel
from citywitness.evidence.quotas import check_quota
from citywitness.evidence.retention import retain_until_for
from citywitness.kit.errors import ValidationFailed
from citywitness.media import chain
from citywitness.media.errors import InitNotMedia, InitTooLarge, SessionIdTaken, SessionNotFound
from citywitness.media.models import LiveSession, SegmentFormat, SessionState
from citywitness.media.probe import CONTAINERS, NotASegment, probe_init
from citywitness.media.schemas import SessionOpenIn
from citywitness.storage import ContentStore

EVIDENCE = "evidence"
MEDIA_TYPES = {SegmentFormat.FMP4: "video/mp4", SegmentFormat.TS: "video/mp2t"}
SUFFIXES = {SegmentFormat.FMP4: "mp4", SegmentFormat.TS: "ts"}


@dataclass(frozen=True)
class OpenLimits:
    max_init_bytes: int
    max_clock_skew: timedelta
    max_backfill: timedelta


@dataclass(frozen=True)
class Opened:
    live: LiveSession
    created: bool


def decode_init(body: SessionOpenIn, limits: OpenLimits) -> bytes | None:
    """The init segment's bytes (fMP4 only), checked against its declared size and digest."""
    fmt = SegmentFormat(body.format)
    if fmt is SegmentFormat.TS:
        if body.init_segment is not None:
            raise ValidationFailed(fields={"init_segment": "MPEG-TS sessions have none"})
        return None
    if not body.init_segment:
        raise ValidationFailed(fields={"init_segment": "required for fmp4 sessions"})
    try:
        init = base64.b64decode(body.init_segment, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(fields={"init_segment": "not standard base64"}) from None
    if len(init) > limits.max_init_bytes:
        raise InitTooLarge(fields={"max_init_bytes": limits.max_init_bytes})
    if body.init_sha256 is not None and body.init_sha256.lower() != chain.sha256_hex(init):
        raise ValidationFailed(fields={"init_sha256": "does not match the init segment"})
    try:
        probe_init(init)
    except NotASegment as exc:
        raise InitNotMedia(fields={"init_segment": str(exc)}) from None
    return init


def check_started(started: datetime, now: datetime, limits: OpenLimits) -> None:
    if started > now + limits.max_clock_skew:
        raise ValidationFailed(fields={"started_at": "in the future (device clock skew)"})
    if started < now - limits.max_backfill:
        raise ValidationFailed(fields={"started_at": "older than the backfill window"})


async def store_init(store: ContentStore, init: bytes) -> str:
    """Put the init segment through the vault; its SHA-256."""
    writer = await store.open_writer(expected_size=len(init))
    await writer.write(init)
    return (await writer.finish(expected_sha256=chain.sha256_hex(init))).sha256


async def open_session(
    session: AsyncSession,
    auditor: Auditor,
    device: DeviceIdentity,
    body: SessionOpenIn,
    *,
    init_sha256: str | None,
    init_size: int,
    now: datetime,
) -> Opened:
    """The session and its live item; an existing `body.id` of this recorder is returned."""
    fmt = SegmentFormat(body.format)
    session_id = body.id or uuid.uuid4()
    found = await session.get(LiveSession, session_id)
    if found is not None:
        same = found.recorder_id == device.device_id and found.format == fmt
        if not same or found.init_sha256 != init_sha256:
            raise SessionIdTaken(fields={"id": str(session_id)})
        return Opened(live=found, created=False)
    started = body.started_at or now
    officer_id = await session.scalar(select(officer_at(device.device_id, started)))
    await check_quota(session, device.department_id, init_size)
    item = _live_item(
        device,
        fmt=fmt,
        session_id=session_id,
        started=started,
        officer_id=officer_id,
        init_size=init_size,
        init_sha256=init_sha256,
        now=now,
    )
    session.add(item)
    await session.flush()
    live = LiveSession(
        id=session_id,
        recorder_id=device.device_id,
        department_id=device.department_id,
        officer_id=officer_id,
        evidence_id=item.id,
        format=fmt,
        state=SessionState.LIVE,
        genesis=item.sha256,
        init_sha256=init_sha256,
        init_size=init_size,
        target_duration=body.target_duration,
        codec_info=body.codec_info.model_dump(exclude_none=True),
        started_at=started,
        last_segment_at=now,
        segments=0,
        bytes=0,
        duration_seconds=0.0,
        max_seq=-1,
        contiguous_seq=-1,
    )
    session.add(live)
    await session.flush()
    await auditor.record(
        "media.session_open",
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=device.department_id,
        details={"session_id": str(session_id), "recorder_id": str(device.device_id)},
    )
    return Opened(live=live, created=True)


def _live_item(
    device: DeviceIdentity,
    *,
    fmt: SegmentFormat,
    session_id: uuid.UUID,
    started: datetime,
    officer_id: uuid.UUID | None,
    init_size: int,
    init_sha256: str | None,
    now: datetime,
) -> EvidenceItem:
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    return EvidenceItem(
        id=uuid.uuid4(),
        kind=EvidenceKind.VIDEO,
        state=EvidenceState.LIVE,
        sha256=chain.genesis(session_id, init_sha256),
        size_bytes=init_size,
        original_filename=f"live-{device.serial}-{stamp}.{SUFFIXES[fmt]}",
        media_type=MEDIA_TYPES[fmt],
        container=CONTAINERS[fmt],
        duration_seconds=0.0,
        media_facts={"live_session_id": str(session_id)},
        captured_start=started,
        captured_end=started,
        recorder_serial=device.serial,
        officer_id=officer_id,
        department_id=device.department_id,
        tags=[],
        notes="",
        classification=int(Classification.INTERNAL),
        search_vector=search_index.vector([], ""),
        retain_until=retain_until_for(None, started, now),
        ingest_channel=IngestChannel.LIVE,
        created_at=now,
    )


async def own_session(
    session: AsyncSession, device: DeviceIdentity, session_id: uuid.UUID, *, lock: bool = False
) -> LiveSession:
    """The recorder's own session (another recorder's is 404, like one that does not exist)."""
    query = select(LiveSession).where(
        LiveSession.id == session_id, LiveSession.recorder_id == device.device_id
    )
    if lock:
        query = query.with_for_update()
    found = await session.scalar(query)
    if found is None:
        raise SessionNotFound(fields={"session_id": str(session_id)})
    return found
