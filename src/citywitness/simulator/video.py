"""Live video: the scene and the audio track encoded (PyAV: H.264 + AAC) into fMP4 fragments.

One muxer for the whole session writes fragmented MP4 (`frag_keyframe+empty_moov+
default_base_moof`) into memory; a keyframe every `segment_seconds` starts a new fragment.
`ftyp+moov` is the init segment; each `moof+mdat` pair is one live segment.  The mp4 muxer
writes a fragment out when the next keyframe arrives, so a segment is complete once the
first frame of the following one (and the audio up to it) has been muxed: `LiveEncoder`
encodes that frame early and carries it into the next segment.
"""

from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import av
import numpy as np

from citywitness.simulator.audio import SAMPLE_RATE, AudioTrack
from citywitness.simulator.scene import SceneRenderer, Sighting

AUDIO_FRAME = 1024
AUDIO_LEAD_SECONDS = 0.3  # audio muxed past the keyframe so the interleaver releases it


class _Sink(io.RawIOBase):
    """Where the muxer writes; the bytes are taken out box by box."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, b: Any) -> int:
        self.data += bytes(b)
        return len(b)


def split_boxes(data: bytearray) -> Iterator[tuple[str, bytes]]:
    """Complete top-level MP4 boxes at the start of `data` (consumed from it)."""
    while len(data) >= 8:
        size, kind = struct.unpack(">I4s", bytes(data[:8]))
        header = 8
        if size == 1:
            if len(data) < 16:
                return
            (size,) = struct.unpack(">Q", bytes(data[8:16]))
            header = 16
        if size < header or len(data) < size:
            return
        box = bytes(data[:size])
        del data[:size]
        yield kind.decode("latin-1"), box


@dataclass
class PlateTruth:
    text: str
    display: str
    kind: str
    first_s: float
    last_s: float
    box: tuple[int, int, int, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "display": self.display,
            "kind": self.kind,
            "first_s": round(self.first_s, 2),
            "last_s": round(self.last_s, 2),
            "box": list(self.box),
        }


@dataclass
class Segment:
    seq: int
    data: bytes
    start_s: float
    duration_s: float
    plates: list[PlateTruth]
    speech: list[dict[str, object]]

    def truth(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "start_s": round(self.start_s, 3),
            "duration_s": self.duration_s,
            "plates": [p.as_dict() for p in self.plates],
            "speech": self.speech,
        }


@dataclass
class LiveEncoder:
    """Segments of a live stream, one `next_segment()` call each (blocking; CPU)."""

    scene: SceneRenderer
    audio: AudioTrack
    started_at: datetime
    segment_seconds: int = 2
    sink: _Sink = field(default_factory=_Sink, init=False)
    init_segment: bytes = field(default=b"", init=False)
    _container: Any = field(default=None, init=False)
    _frame: int = field(default=0, init=False)
    _samples: int = field(default=0, init=False)
    _seq: int = field(default=0, init=False)
    _seen: dict[str, PlateTruth] = field(default_factory=dict, init=False)
    _moof: bytes | None = field(default=None, init=False)
    _carry: list[Sighting] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        fps = self.scene.fps
        gop = str(fps * self.segment_seconds)
        container = av.open(
            self.sink,
            mode="w",
            format="mp4",
            options={"movflags": "frag_keyframe+empty_moov+default_base_moof"},
        )
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = self.scene.width, self.scene.height, "yuv420p"
        video.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "g": gop,
            "keyint_min": gop,
            "sc_threshold": "0",
            "crf": "26",
        }
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "mono"
        self._container, self._video, self._audio = container, video, audio

    @property
    def frames_per_segment(self) -> int:
        return self.scene.fps * self.segment_seconds

    def _encode_frame(self) -> list[Sighting]:
        index = self._frame
        when = self.started_at + timedelta(seconds=index / self.scene.fps)
        image, seen = self.scene.frame(index, when)
        frame = av.VideoFrame.from_ndarray(np.asarray(image), format="rgb24")
        frame.pts = index
        frame.time_base = Fraction(1, self.scene.fps)
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self._frame += 1
        return seen

    def _encode_audio_until(self, seconds: float) -> None:
        target = int(seconds * SAMPLE_RATE)
        while self._samples + AUDIO_FRAME <= target:
            samples = self.audio.take(AUDIO_FRAME)
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = self._samples
            frame.time_base = Fraction(1, SAMPLE_RATE)
            for packet in self._audio.encode(frame):
                self._container.mux(packet)
            self._samples += AUDIO_FRAME

    def _note(self, seen: list[Sighting], t: float) -> None:
        for s in seen:
            known = self._seen.get(s.plate.text)
            if known is None:
                self._seen[s.plate.text] = PlateTruth(
                    s.plate.text, s.plate.display, s.plate.kind, t, t, s.box
                )
            else:
                known.last_s = t

    def _collect(self) -> list[tuple[str, bytes]]:
        return list(split_boxes(self.sink.data))

    def next_segment(self) -> Segment:
        """Render and encode the next segment (the init segment is ready after the first)."""
        seq, per = self._seq, self.frames_per_segment
        start = seq * self.segment_seconds
        self._seen = {}
        if self._carry is not None:  # the keyframe encoded to close the previous segment
            self._note(self._carry, 0.0)
            self._carry = None
        fps = self.scene.fps
        while self._frame <= (seq + 1) * per:
            index = self._frame
            seen = self._encode_frame()
            self._encode_audio_until(self._frame / fps + AUDIO_LEAD_SECONDS)
            if index == (seq + 1) * per:  # closes this fragment; belongs to the next one
                self._carry = seen
            else:
                self._note(seen, index / fps - start)
        return self._take(seq, start)

    def _take(self, seq: int, start: float) -> Segment:
        fragment = b""
        for kind, box in self._collect():
            if kind in ("ftyp", "moov"):
                self.init_segment += box
            elif kind == "moof":
                self._moof = box
            elif kind == "mdat" and self._moof is not None:
                fragment += self._moof + box
                self._moof = None
        if not fragment:
            raise RuntimeError("the muxer wrote no fragment for this segment")
        self._seq += 1
        speech = [
            {
                "text": u.text,
                "start_s": round(u.start - start, 2),
                "end_s": round(u.end - start, 2),
                "speech": u.speech,
            }
            for u in self.audio.utterances_between(start, start + self.segment_seconds)
        ]
        return Segment(
            seq=seq,
            data=fragment,
            start_s=float(start),
            duration_s=float(self.segment_seconds),
            plates=sorted(self._seen.values(), key=lambda p: p.first_s),
            speech=speech,
        )

    def close(self) -> None:
        if self._container is not None:
            with contextlib.suppress(av.error.FFmpegError, OSError):
                self._container.close()
            self._container = None
