"""A synthetic video source made with PyAV (tests, benchmarks, demos): no download needed.

Moving grey levels in H.264 (+ AAC tone), a keyframe every `keyframe_seconds`, written
to a file that the segmenter (or any player) reads like a camera's stream.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction
from pathlib import Path

import av


def _video_frame(width: int, height: int, index: int, fps: int) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "yuv420p")
    shade = (index * 12) % 220 + 16
    for number, plane in enumerate(frame.planes):
        plane.update(bytes([shade if number == 0 else 128]) * plane.buffer_size)
    frame.pts = index
    frame.time_base = Fraction(1, fps)
    return frame


def _audio_frame(start: int, count: int, rate: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="mono", samples=count)
    pcm = b"".join(
        struct.pack("<h", int(math.sin((start + i) * 2 * math.pi * 440 / rate) * 6000))
        for i in range(count)
    )
    frame.planes[0].update(pcm + bytes(frame.planes[0].buffer_size - len(pcm)))
    frame.sample_rate = rate
    frame.pts = start
    return frame


def write_video(
    path: Path,
    *,
    seconds: float = 6.0,
    fps: int = 10,
    width: int = 160,
    height: int = 120,
    keyframe_seconds: float = 1.0,
    audio: bool = True,
    container_format: str | None = None,
) -> Path:
    """Encode a test video to `path` (format from the suffix unless given)."""
    gop = str(max(1, round(keyframe_seconds * fps)))
    with av.open(str(path), mode="w", format=container_format) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "g": gop, "keyint_min": gop, "sc_threshold": "0"}
        sound = container.add_stream("aac", rate=16000) if audio else None
        for index in range(round(seconds * fps)):
            container.mux(video.encode(_video_frame(width, height, index, fps)))
        container.mux(video.encode())
        if sound is not None:
            total = round(seconds * 16000)
            for start in range(0, total, 1024):
                container.mux(sound.encode(_audio_frame(start, min(1024, total - start), 16000)))
            container.mux(sound.encode())
    return path
