"""The recorder side of live sessions, as a client: what `citywitness camera pull` runs.

`pull` remuxes a source (media/segmenter.py) and sends its pieces as a recorder would:
open the session (with the init segment for fMP4), PUT each segment with its SHA-256 and
the previous one's (chained from the session's genesis), retry a segment on transport
errors and 5xx answers, and end the session when the source ends.  The segmenter runs in
a worker thread, one piece at a time, so the event loop stays free for the uploads.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from citywitness.media.models import SegmentFormat
from citywitness.media.segmenter import Piece, segments

log = logging.getLogger(__name__)

SESSIONS = "/api/v1/devices/self/sessions"
RETRIES = 5


class UploadFailed(RuntimeError):
    """The platform refused a piece (a 4xx), or kept failing after retries."""


@dataclass
class PullResult:
    session_id: str = ""
    evidence_id: str = ""
    segments: int = 0
    bytes: int = 0
    final_sha256: str | None = None
    state: str = ""
    answers: list[dict[str, Any]] = field(default_factory=list)


def _next(pieces: Iterator[Piece]) -> Piece | None:  # in a thread: the segmenter blocks
    return next(pieces, None)


async def _send(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    for attempt in range(RETRIES):
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            error: str = type(exc).__name__
        else:
            if response.status_code < 500:
                if response.status_code >= 400:
                    raise UploadFailed(f"{method} {url}: {response.status_code} {response.text}")
                return response
            error = str(response.status_code)
        log.warning("live upload retry", extra={"attempt": attempt + 1, "error": error})
        await asyncio.sleep(min(8.0, 0.5 * 2**attempt))
    raise UploadFailed(f"{method} {url}: gave up after {RETRIES} attempts")


async def pull(
    source: str,
    client: httpx.AsyncClient,
    *,
    fmt: SegmentFormat = SegmentFormat.FMP4,
    target_seconds: float = 2.0,
    input_options: dict[str, str] | None = None,
    on_segment: Callable[[dict[str, Any]], None] | None = None,
) -> PullResult:
    """Send `source` as one live session through `client` (base URL and Device auth set)."""
    pieces = segments(source, fmt, target_seconds=target_seconds, input_options=input_options)
    result = PullResult()
    prev = ""
    try:
        while (piece := await asyncio.to_thread(_next, pieces)) is not None:
            if not result.session_id:
                opened = await _open(client, fmt, target_seconds, piece)
                result.session_id, result.evidence_id = opened["id"], opened["evidence_id"]
                prev = opened["genesis"]
                if piece.seq is None:
                    continue
            if piece.seq is None:
                raise UploadFailed("an init segment after the first piece")
            digest = hashlib.sha256(piece.data).hexdigest()
            answer = await _send(
                client,
                "PUT",
                f"{SESSIONS}/{result.session_id}/segments/{piece.seq}",
                content=piece.data,
                headers={"CW-Segment-SHA256": digest, "CW-Prev-SHA256": prev},
            )
            prev = digest
            result.segments += 1
            result.bytes += len(piece.data)
            result.answers.append(answer.json())
            if on_segment is not None:
                on_segment(answer.json())
    finally:
        await asyncio.to_thread(pieces.close)
    if result.session_id:
        ended = await _send(client, "POST", f"{SESSIONS}/{result.session_id}/end")
        result.final_sha256 = ended.json()["final_sha256"]
        result.state = ended.json()["state"]
    return result


async def _open(
    client: httpx.AsyncClient, fmt: SegmentFormat, target_seconds: float, first: Piece
) -> dict[str, Any]:
    body: dict[str, Any] = {"format": fmt.value, "target_duration": max(1, round(target_seconds))}
    if first.seq is None:
        body["init_segment"] = base64.b64encode(first.data).decode()
    response = await _send(client, "POST", SESSIONS, json=body)
    opened: dict[str, Any] = response.json()
    return opened
