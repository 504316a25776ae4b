"""Live video from a virtual recorder: a recording session over the live segment API.

Opens a session (`POST /devices/self/sessions`, fMP4 with its init segment), renders and
encodes each 2 s segment in a worker thread, sends it when its time has come
(`PUT .../segments/<seq>` with `CW-Segment-SHA256` and `CW-Prev-SHA256`: the hash chain
that starts at the session's `genesis`), and ends the session when the run stops.  During
a network drop segments queue and go out, in order, afterwards.  The ground truth of each
segment (plates fully visible, with boxes and times; phrases spoken) is kept and, with
`truth_dir`, written as one JSON line per segment to `<truth_dir>/<session id>.jsonl`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from citywitness.simulator.audio import AudioTrack
from citywitness.simulator.provision import API
from citywitness.simulator.recorder import VirtualRecorder, now
from citywitness.simulator.scene import SceneRenderer
from citywitness.simulator.video import LiveEncoder, Segment

log = logging.getLogger(__name__)


class StreamRefused(RuntimeError):
    """The platform refused the session or a segment (4xx): the stream stops."""


@dataclass
class StreamTally:
    sessions: list[dict[str, Any]] = field(default_factory=list)  # id, evidence_id, segments
    segments_sent: int = 0
    bytes_sent: int = 0
    plates: list[str] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)


class Streamer:
    def __init__(
        self,
        recorder: VirtualRecorder,
        http: httpx.AsyncClient,
        *,
        seed: int,
        width: int = 640,
        height: int = 360,
        fps: int = 10,
        truth_dir: Path | None = None,
        drain_seconds: float = 60.0,
    ) -> None:
        self.recorder = recorder
        self.drain_seconds = drain_seconds
        self.http = http
        self.truth_dir = truth_dir
        self.seed = seed
        self.picture = (width, height, fps)
        self.tally = StreamTally()
        self.queue: deque[Segment] = deque()
        self._new_session()

    def _new_session(self) -> None:
        width, height, fps = self.picture
        number = len(self.tally.sessions)
        self.session_id = uuid.uuid4()
        self.started_at = now()
        scene = SceneRenderer(
            seed=self.seed + 7919 * number,
            label=self.recorder.serial,
            width=width,
            height=height,
            fps=fps,
        )
        audio = AudioTrack(self.seed + number, unit=self.recorder.credential.index + 1)
        self.encoder = LiveEncoder(scene, audio, self.started_at)
        self.prev = ""
        self.current: dict[str, Any] = {
            "session_id": str(self.session_id),
            "evidence_id": None,
            "segments": 0,
        }
        self.tally.sessions.append(self.current)

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": self.recorder.credential.http_authorization}

    async def _open(self, init: bytes) -> None:
        scene = self.encoder.scene
        body = {
            "id": str(self.session_id),
            "format": "fmp4",
            "started_at": self.started_at.isoformat(),
            "target_duration": self.encoder.segment_seconds,
            "init_segment": base64.b64encode(init).decode(),
            "init_sha256": hashlib.sha256(init).hexdigest(),
            "codec_info": {
                "video_codec": "h264",
                "audio_codec": "aac",
                "width": scene.width,
                "height": scene.height,
                "frame_rate": scene.fps,
            },
        }
        while True:
            await self.recorder.network_up.wait()
            try:
                answer = await self.http.post(
                    f"{API}/devices/self/sessions", json=body, headers=self._auth
                )
            except httpx.TransportError:
                await asyncio.sleep(1)
                continue
            if answer.status_code in (200, 201):
                opened = answer.json()
                self.prev = opened["genesis"]
                self.current["evidence_id"] = opened["evidence_id"]
                return
            raise StreamRefused(f"session refused: HTTP {answer.status_code} {answer.text[:200]}")

    async def _put(self, segment: Segment) -> None:
        digest = hashlib.sha256(segment.data).hexdigest()
        headers = {
            **self._auth,
            "CW-Segment-SHA256": digest,
            "CW-Prev-SHA256": self.prev,
            "Content-Type": "video/iso.segment",
        }
        url = f"{API}/devices/self/sessions/{self.session_id}/segments/{segment.seq}"
        while True:
            await self.recorder.network_up.wait()
            try:
                answer = await self.http.put(url, content=segment.data, headers=headers)
            except httpx.TransportError:
                await asyncio.sleep(1)
                continue
            if answer.status_code in (200, 201):
                break
            if answer.status_code >= 500:
                await asyncio.sleep(1)
                continue
            raise StreamRefused(
                f"segment {segment.seq}: HTTP {answer.status_code} {answer.text[:200]}"
            )
        self.prev = digest
        self.current["segments"] += 1
        self.tally.segments_sent += 1
        self.tally.bytes_sent += len(segment.data)
        self._record(segment, digest)

    def _record(self, segment: Segment, digest: str) -> None:
        truth = {"session_id": str(self.session_id), "sha256": digest, **segment.truth()}
        self.tally.truth.append(truth)
        for plate in segment.plates:
            if plate.text not in self.tally.plates:
                self.tally.plates.append(plate.text)
        if self.truth_dir is not None:
            self.truth_dir.mkdir(parents=True, exist_ok=True)
            with (self.truth_dir / f"{self.session_id}.jsonl").open("a", encoding="utf-8") as f:
                f.write(json.dumps(truth, ensure_ascii=False) + "\n")

    async def run(
        self, stop: asyncio.Event, *, session_seconds: float = 0, pause_seconds: float = 30
    ) -> None:
        """Record sessions until `stop`: one for the whole run (`session_seconds` 0), or
        sessions of `session_seconds` with `pause_seconds` between them."""
        loop = asyncio.get_running_loop()
        while True:
            await self._session(stop, session_seconds)
            if stop.is_set():
                return
            await _sleep_until(loop, loop.time() + pause_seconds, stop)
            if stop.is_set():
                return
            self._new_session()

    async def _session(self, stop: asyncio.Event, seconds: float) -> None:
        """One session: open, a segment every two seconds, then what is queued, then end."""
        loop = asyncio.get_running_loop()
        recorder = self.recorder
        recorder.set_recording(True, trigger="live", session_id=str(self.session_id))
        began = loop.time()
        segment = await asyncio.to_thread(self.encoder.next_segment)
        await self._open(self.encoder.init_segment)
        done = asyncio.Event()
        sender = asyncio.create_task(self._send_queue(done))
        length = self.encoder.segment_seconds
        limit = max(1, round(seconds / length)) if seconds else None  # segments per session
        try:
            seq = 0
            while True:  # each segment goes out when its two seconds have passed
                await _sleep_until(loop, began + (seq + 1) * length, stop)
                if stop.is_set():
                    break
                self.queue.append(segment)
                seq += 1
                if limit is not None and seq >= limit:
                    break
                segment = await asyncio.to_thread(self.encoder.next_segment)
        finally:
            done.set()
            try:  # what is queued goes out, unless the platform is gone
                await asyncio.wait_for(sender, self.drain_seconds)
            except TimeoutError:
                log.warning("live segments left unsent", extra={"queued": len(self.queue)})
            await asyncio.to_thread(self.encoder.close)
        await self._end()
        recorder.set_recording(False, trigger="live", session_id=str(self.session_id))

    async def _send_queue(self, done: asyncio.Event) -> None:
        while True:
            if self.queue:
                await self._put(self.queue.popleft())
            elif done.is_set():
                return
            else:
                await asyncio.sleep(0.1)

    async def _end(self) -> None:
        url = f"{API}/devices/self/sessions/{self.session_id}/end"
        for _ in range(3):
            try:
                answer = await self.http.post(url, headers=self._auth, timeout=60)
            except httpx.TransportError:
                await asyncio.sleep(1)
                continue
            if answer.status_code == 200:
                return
            log.warning("session end refused", extra={"status": answer.status_code})
            return


async def _sleep_until(loop: asyncio.AbstractEventLoop, due: float, stop: asyncio.Event) -> None:
    delay = due - loop.time()
    if delay <= 0:
        return
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except TimeoutError:
        return
