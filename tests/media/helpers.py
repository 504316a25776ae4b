"""Builders for the media tests: generated segment streams and recorder-side calls."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from citywitness.media.models import SegmentFormat
from citywitness.media.segmenter import segments
from citywitness.media.synthetic import write_video
from tests.devices.helpers import Enrolled

SESSIONS = "/api/v1/devices/self/sessions"


@dataclass(frozen=True)
class Pieces:
    fmt: SegmentFormat
    init: bytes | None
    segments: list[bytes]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_pieces(directory: Path, fmt: SegmentFormat, seconds: float = 7.0) -> Pieces:
    """A generated video (PyAV) remuxed into ~2 s segments: 2, 2, 2, 1 s."""
    source = write_video(directory / "source.mp4", seconds=seconds)
    init, found = None, []
    for piece in segments(str(source), fmt, scratch=directory):
        if piece.seq is None:
            init = piece.data
        else:
            found.append(piece.data)
    return Pieces(fmt=fmt, init=init, segments=found)


def open_body(pieces: Pieces, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"format": pieces.fmt.value, **extra}
    if pieces.init is not None:
        body["init_segment"] = base64.b64encode(pieces.init).decode()
    return body


async def open_session(
    client: httpx.AsyncClient, device: Enrolled, pieces: Pieces, **extra: Any
) -> dict[str, Any]:
    response = await client.post(SESSIONS, json=open_body(pieces, **extra), headers=device.headers)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


async def put_segment(  # noqa: PLR0917 - reads like the request it makes
    client: httpx.AsyncClient,
    device: Enrolled,
    session_id: str,
    seq: int,
    data: bytes,
    prev: str,
    *,
    declared: str | None = None,
) -> httpx.Response:
    headers = {
        **device.headers,
        "CW-Segment-SHA256": declared or sha(data),
        "CW-Prev-SHA256": prev,
        "Content-Type": "video/iso.segment",
    }
    return await client.put(
        f"{SESSIONS}/{session_id}/segments/{seq}", content=data, headers=headers
    )


async def send_all(
    client: httpx.AsyncClient, device: Enrolled, opened: dict[str, Any], pieces: Pieces
) -> list[httpx.Response]:
    """Every segment in order, chained from the session's genesis."""
    prev, answers = opened["genesis"], []
    for seq, data in enumerate(pieces.segments):
        answers.append(await put_segment(client, device, opened["id"], seq, data, prev))
        prev = sha(data)
    return answers
