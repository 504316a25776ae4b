"""Recorder-side API of live sessions: open, send segments, end (docs/media.md).

Authenticated like telemetry (`Authorization: Device <serial>:<secret>`), checked in a
short transaction of its own: a segment body is read with no database transaction open.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from citywitness.api.deps import SettingsDep, client_address, get_database
from citywitness.audit.service import Auditor
from citywitness.devices.credentials import authenticate_device
from citywitness.devices.endpoints.device import SCHEME, WWW_AUTHENTICATE
from citywitness.devices.errors import DeviceAuthFailed
from citywitness.devices.principal import DeviceIdentity
from citywitness.evidence.runtime import ContentStoreDep
from citywitness.kit.clock import utcnow
from citywitness.kit.web import error_responses
from citywitness.media import chain, seal, sessions
from citywitness.media.errors import InvalidSegmentHeader, SegmentTooLarge
from citywitness.media.ingest import SegmentUpload, ingest_segment
from citywitness.media.schemas import SegmentOut, SessionOpenIn, SessionOut

router = APIRouter(prefix="/devices/self/sessions", tags=["media (recorder side)"])


async def authenticated_device(request: Request) -> DeviceIdentity:
    """The recorder named and proved by `Authorization: Device <serial>:<secret>`."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    serial, sep, secret = value.strip().partition(":")
    if scheme.lower() != SCHEME or not sep or not serial or not secret:
        raise DeviceAuthFailed(headers=WWW_AUTHENTICATE)
    async with get_database(request).transaction() as session:
        identity = await authenticate_device(session, serial, secret)
    if identity is None:
        raise DeviceAuthFailed(headers=WWW_AUTHENTICATE)
    return identity


Device = Annotated[DeviceIdentity, Depends(authenticated_device)]
SessionId = Annotated[uuid.UUID, Path(description="The session id from the open call.")]


def _context(request: Request) -> seal.SealContext:
    return seal.SealContext(
        actor_kind="device",
        client_address=client_address(request),
        request_id=getattr(request.state, "request_id", None),
    )


@router.post(
    "",
    summary="Open a recording session (its evidence item is created, state live).",
    description=(
        "fMP4 sessions send their init segment (base64) here. Retrying with the same `id` "
        "returns the same session (200). The answer's `genesis` is the CW-Prev-SHA256 of "
        "segment 0."
    ),
    status_code=201,
    response_model=SessionOut,
    responses={
        200: {"description": "The session already existed (a retry)."},
        **error_responses(400, 401, 409, 413, 415, 422, 507),
    },
)
async def post_session(
    *,
    body: SessionOpenIn,
    request: Request,
    response: Response,
    device: Device,
    settings: SettingsDep,
    store: ContentStoreDep,
) -> SessionOut:
    limits = sessions.OpenLimits(
        max_init_bytes=settings.media.max_init_bytes,
        max_clock_skew=timedelta(seconds=settings.devices.max_clock_skew_seconds),
        max_backfill=timedelta(days=settings.devices.max_backfill_days),
    )
    now = utcnow()
    if body.started_at is not None:
        sessions.check_started(body.started_at, now, limits)
    init = sessions.decode_init(body, limits)
    init_sha = await sessions.store_init(store, init) if init is not None else None
    async with get_database(request).transaction() as session:
        auditor = Auditor(
            session=session,
            actor=None,
            client_address=client_address(request),
            request_id=getattr(request.state, "request_id", None),
            actor_kind="device",
        )
        opened = await sessions.open_session(
            session,
            auditor,
            device,
            body,
            init_sha256=init_sha,
            init_size=len(init) if init is not None else 0,
            now=now,
        )
    if not opened.created:
        response.status_code = 200
    return SessionOut.of(opened.live)


SEGMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("video/mp4", "video/iso.segment", "video/mp2t")
        },
    }
}


@router.put(
    "/{session_id}/segments/{seq}",
    summary="Send segment `seq` of a live session (the raw fMP4 fragment or MPEG-TS bytes).",
    description=(
        "Headers: CW-Segment-SHA256 (the body's SHA-256) and CW-Prev-SHA256 (segment "
        "seq-1's, or the session's genesis for seq 0). 201 stored; 200 the same segment "
        "again (a retry). Refused and reported: 422 segment_digest_mismatch (altered bytes), "
        "409 segment_chain_broken (forged link), 409 segment_conflict (other bytes for this "
        "seq), 415 segment_not_media, 422 segment_too_long; 413 segment_too_large."
    ),
    status_code=201,
    response_model=SegmentOut,
    responses={
        200: {"description": "Already stored (a retry)."},
        **error_responses(400, 401, 404, 409, 413, 415, 422, 507),
    },
    openapi_extra=SEGMENT_BODY,
)
async def put_segment(
    *,
    session_id: SessionId,
    seq: Annotated[int, Path(ge=0, le=100_000_000)],
    request: Request,
    response: Response,
    device: Device,
    settings: SettingsDep,
    store: ContentStoreDep,
    segment_sha256: Annotated[str, Header(alias="CW-Segment-SHA256", max_length=64)] = "",
    prev_sha256: Annotated[str, Header(alias="CW-Prev-SHA256", max_length=64)] = "",
) -> SegmentOut:
    declared, prev = chain.parse_digest(segment_sha256), chain.parse_digest(prev_sha256)
    if declared is None or prev is None:
        raise InvalidSegmentHeader(
            fields={"CW-Segment-SHA256": declared is not None, "CW-Prev-SHA256": prev is not None}
        )
    data = await _read_body(request, settings.media.max_segment_bytes)
    upload = SegmentUpload(session_id, seq, declared, prev, data)
    answer = await ingest_segment(
        get_database(request),
        store,
        device,
        upload,
        max_seconds=settings.media.max_segment_seconds,
    )
    if answer.duplicate:
        response.status_code = 200
    return answer


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise SegmentTooLarge(fields={"max_segment_bytes": limit})
    parts: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise SegmentTooLarge(fields={"max_segment_bytes": limit})
        parts.append(chunk)
    return b"".join(parts)


@router.get(
    "/{session_id}",
    summary="The recorder's own session: state, counters, chain head (to resume after a drop).",
    response_model=SessionOut,
    responses=error_responses(401, 404),
)
async def get_own_session(session_id: SessionId, request: Request, device: Device) -> SessionOut:
    async with get_database(request).transaction() as session:
        live = await sessions.own_session(session, device, session_id)
    return SessionOut.of(live)


@router.post(
    "/{session_id}/end",
    summary="End the session: the segments are joined and the evidence item sealed.",
    description=(
        "Idempotent. The sealed item's sha256 is the SHA-256 of the init segment and all "
        "segments concatenated in sequence order (docs/media.md)."
    ),
    response_model=SessionOut,
    responses=error_responses(401, 404, 507),
)
async def post_end(
    session_id: SessionId, request: Request, device: Device, store: ContentStoreDep
) -> SessionOut:
    db = get_database(request)
    async with db.transaction() as session:
        await sessions.own_session(session, device, session_id)
    live = await seal.end_session(db, store, session_id, reason="device", ctx=_context(request))
    return SessionOut.of(live)
