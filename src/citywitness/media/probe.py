"""What a live segment holds, read with PyAV by demuxing only (no decoding).

An fMP4 fragment (moof+mdat) cannot be read alone: it is probed behind the session's init
segment.  Only the container of the session's format counts (FFmpeg opens almost anything),
and a segment must carry video packets.  Synchronous and CPU-bound: run it in a thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error

from citywitness.media.models import SegmentFormat

CONTAINERS = {SegmentFormat.FMP4: "mov,mp4,m4a,3gp,3g2,mj2", SegmentFormat.TS: "mpegts"}
PROBE_OPTIONS = {"probesize": str(4 * 1024 * 1024), "analyzeduration": str(5_000_000)}


class NotASegment(ValueError):
    """The bytes are not a video segment of the expected format."""


@dataclass(frozen=True)
class SegmentFacts:
    duration_seconds: float
    start_seconds: float
    video_codec: str
    audio_codec: str | None
    width: int | None
    height: int | None
    packets: int


def _open(data: bytes, fmt: SegmentFormat) -> av.container.InputContainer:
    try:
        container = av.open(io.BytesIO(data), mode="r", options=PROBE_OPTIONS)
    except (av.error.FFmpegError, ValueError, OSError, UnicodeDecodeError) as exc:
        raise NotASegment("not a media segment") from exc
    if container.format.name != CONTAINERS[fmt]:
        container.close()
        raise NotASegment(f"not a {fmt.value} segment")
    return container


def probe_init(init: bytes) -> str:
    """The video codec of an fMP4 init segment; `NotASegment` if it is none."""
    with _open(init, SegmentFormat.FMP4) as container:
        video = next(iter(container.streams.video), None)
        if video is None:
            raise NotASegment("the init segment has no video track")
        return str(video.codec_context.name)


def probe_segment(data: bytes, fmt: SegmentFormat, init: bytes | None = None) -> SegmentFacts:
    """Duration (first video packet to the end of the last), codecs and size of a segment."""
    whole = (init or b"") + data if fmt is SegmentFormat.FMP4 else data
    try:
        with _open(whole, fmt) as container:
            video = next(iter(container.streams.video), None)
            if video is None:
                raise NotASegment("no video stream")
            audio = next(iter(container.streams.audio), None)
            starts, ends, packets = [], [], 0
            for packet in container.demux(video):
                if packet.pts is None or packet.size == 0:
                    continue
                packets += 1
                starts.append(packet.pts)
                ends.append(packet.pts + (packet.duration or 0))
            base: Fraction = video.time_base or Fraction(1, 90_000)
            facts = (
                str(video.codec_context.name),
                str(audio.codec_context.name) if audio is not None else None,
                video.codec_context.width or None,
                video.codec_context.height or None,
                video.average_rate,
            )
    except av.error.FFmpegError as exc:
        raise NotASegment("the segment does not demux") from exc
    if packets == 0:
        raise NotASegment("the segment holds no video")
    first, last = min(starts), max(ends)
    if last == max(starts) and facts[4]:  # packets without durations: one frame's worth
        last += round(1 / (float(facts[4]) * float(base)))
    return SegmentFacts(
        duration_seconds=round(float((last - first) * base), 6),
        start_seconds=round(float(first * base), 6),
        video_codec=facts[0],
        audio_codec=facts[1],
        width=facts[2],
        height=facts[3],
        packets=packets,
    )
