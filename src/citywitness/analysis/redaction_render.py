"""Drawing a redaction plan into a new video: PyAV decode, OpenCV cover, H.264 encode.

Each frame is decoded, every box the plan holds for the frame's time is covered (``blur``:
the region is shrunk to at most ``BLOCKS`` pixels across, enlarged back and blurred, which
leaves neither features nor text; ``solid``: filled black), and the frame is encoded with
libx264 into an MP4 at the source's timestamps.  Audio is copied as it is when nothing is
muted and MP4 can hold its codec; otherwise it is decoded, silenced (sample-exact) in the
mute ranges and encoded to AAC.  The source is only read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from citywitness.analysis.contracts import Box
from citywitness.analysis.redaction import Mode, Plan

BLOCKS = 6  # the covered region keeps at most this many blocks across its longer side
COPYABLE_AUDIO = frozenset({"aac", "mp3", "alac", "opus"})
CRF = 20


@dataclass(frozen=True, slots=True)
class Rendered:
    frames: int
    covered: int  # boxes drawn, summed over frames
    width: int
    height: int
    audio: str  # "none" | "copied" | "muted" | "encoded"
    seconds: float


def cover(image: NDArray[np.uint8], boxes: Sequence[Box], mode: Mode) -> int:
    """Cover ``boxes`` in ``image`` in place; the number of non-empty boxes drawn."""
    height, width = int(image.shape[0]), int(image.shape[1])
    drawn = 0
    for box in boxes:
        x0, y0, x1, y1 = box.to_pixels(width, height)
        if x1 <= x0 or y1 <= y0:
            continue
        drawn += 1
        region = image[y0:y1, x0:x1]
        if mode == "solid":
            region[:] = 0
            continue
        w, h = x1 - x0, y1 - y0
        scale = max(w, h) / BLOCKS
        small = cv2.resize(
            region,
            (max(1, math.ceil(w / scale)), max(1, math.ceil(h / scale))),
            interpolation=cv2.INTER_AREA,
        )
        big = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        k = max(3, (min(w, h) // 4) | 1)
        region[:] = cv2.GaussianBlur(big, (k, k), 0)
    return drawn


def _muted_audio(frame: Any, mute: Sequence[tuple[float, float]]) -> Any:
    """The frame (planar float) with the samples inside ``mute`` set to zero."""
    samples = frame.to_ndarray()
    start = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
    rate = frame.sample_rate
    for begin, end in mute:
        a = max(0, math.ceil((begin - start) * rate))
        b = min(samples.shape[-1], math.ceil((end - start) * rate))
        if a < b:
            samples[..., a:b] = 0
    out = av.AudioFrame.from_ndarray(samples, format=frame.format.name, layout=frame.layout.name)
    out.sample_rate, out.pts, out.time_base = rate, frame.pts, frame.time_base
    return out


class _Audio:
    """Copies or re-encodes (muting) the first audio stream."""

    def __init__(self, audio_in: Any, out: Any, mute: Sequence[tuple[float, float]]) -> None:
        self.audio_in = audio_in
        self.mute = mute
        self.copy = not mute and audio_in.codec_context.name in COPYABLE_AUDIO
        if self.copy:
            self.stream = out.add_stream_from_template(audio_in)
            self.kind = "copied"
            return
        rate = audio_in.codec_context.sample_rate or 48_000
        self.stream = out.add_stream("aac", rate=rate, layout=audio_in.layout.name)
        self.stream.bit_rate = 128_000
        self.resampler = av.AudioResampler(format="fltp", layout=audio_in.layout.name, rate=rate)
        self.kind = "muted" if mute else "encoded"

    def packet(self, packet: Any, out: Any) -> None:
        if self.copy:
            if packet.dts is not None:
                packet.stream = self.stream
                out.mux(packet)
            return
        for frame in packet.decode():
            self._encode(frame, out)

    def _encode(self, frame: Any, out: Any) -> None:
        for planar in self.resampler.resample(frame):
            out.mux(self.stream.encode(_muted_audio(planar, self.mute)))

    def flush(self, out: Any) -> None:
        if not self.copy:
            self._encode(None, out)
            out.mux(self.stream.encode())


def _drawn(
    frame: Any, plan: Plan, index: int, fps: float, size: tuple[int, int]
) -> tuple[Any, int]:
    """The decoded ``frame`` with the plan's boxes covered, as a yuv420p frame, and the
    number of boxes drawn."""
    image: NDArray[np.uint8] = frame.to_ndarray(format="rgb24")
    t = float(frame.time) if frame.time is not None else index / fps
    drawn = cover(image, plan.boxes_at(t), plan.mode)
    made = av.VideoFrame.from_ndarray(image, format="rgb24")
    made.pts, made.time_base = frame.pts, frame.time_base
    return made.reformat(width=size[0], height=size[1], format="yuv420p"), drawn


def render(
    source: Path | BinaryIO, dest: Path | BinaryIO, plan: Plan, *, preset: str = "veryfast"
) -> Rendered:
    """Write ``source`` with ``plan`` applied to ``dest`` (MP4, H.264 + audio)."""
    started = time.perf_counter()
    target = str(source) if isinstance(source, Path) else source
    sink = str(dest) if isinstance(dest, Path) else dest
    frames = covered = 0
    with av.open(target, mode="r") as src, av.open(sink, mode="w", format="mp4") as out:
        if not src.streams.video:
            raise ValueError("no video stream")
        video_in = src.streams.video[0]
        video_in.thread_type = "AUTO"
        rate = video_in.average_rate or video_in.guessed_rate or 25
        video_out = out.add_stream("libx264", rate=rate)
        width, height = video_in.codec_context.width, video_in.codec_context.height
        size = (width - width % 2, height - height % 2)
        video_out.width, video_out.height = size
        video_out.pix_fmt = "yuv420p"
        video_out.time_base = video_in.time_base
        video_out.options = {"preset": preset, "crf": str(CRF)}
        audio = _Audio(src.streams.audio[0], out, plan.mute) if src.streams.audio else None
        streams = [video_in] + ([audio.audio_in] if audio is not None else [])
        packet: Any
        for packet in src.demux(*streams):
            if audio is not None and packet.stream is audio.audio_in:
                audio.packet(packet, out)
                continue
            for frame in packet.decode():
                yuv, drawn = _drawn(frame, plan, frames, float(rate), size)
                out.mux(video_out.encode(yuv))
                frames, covered = frames + 1, covered + drawn
        out.mux(video_out.encode())
        if audio is not None:
            audio.flush(out)
    kind = audio.kind if audio is not None else "none"
    return Rendered(frames, covered, width, height, kind, time.perf_counter() - started)
