"""Small media files made with PyAV for the tests (nothing is committed)."""

from __future__ import annotations

import io
import math
import struct
from fractions import Fraction

import av


def _video_frame(width: int, height: int, shade: int, fmt: str = "yuv420p") -> av.VideoFrame:
    frame = av.VideoFrame(width, height, fmt)
    for index, plane in enumerate(frame.planes):
        value = shade if index == 0 else 128
        plane.update(bytes([value]) * plane.buffer_size)
    return frame


def _audio_frame(start: int, n: int, rate: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="mono", samples=n)
    pcm = b"".join(struct.pack("<h", int(math.sin((start + i) / 5.0) * 8000)) for i in range(n))
    frame.planes[0].update(pcm + bytes(frame.planes[0].buffer_size - len(pcm)))
    frame.sample_rate = rate
    frame.pts = start
    return frame


def make_mp4(
    seconds: float = 2.0,
    width: int = 160,
    height: int = 120,
    *,
    audio: bool = True,
    nonce: str = "",
) -> bytes:
    """An H.264 (+ AAC) MP4 of `seconds`, 10 frames a second; `nonce` makes it unique."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        if nonce:
            container.metadata["comment"] = nonce
        video = container.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast"}
        sound = container.add_stream("aac", rate=16000) if audio else None
        for i in range(int(seconds * 10)):
            frame = _video_frame(width, height, (i * 12) % 235 + 16)
            frame.pts = i
            frame.time_base = Fraction(1, 10)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if sound is not None:
            samples = int(seconds * 16000)
            for start in range(0, samples, 1024):
                container.mux(sound.encode(_audio_frame(start, min(1024, samples - start), 16000)))
            container.mux(sound.encode())
    return buffer.getvalue()


def make_wav(seconds: float = 1.0) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="wav") as container:
        sound = container.add_stream("pcm_s16le", rate=8000)
        container.mux(sound.encode(_audio_frame(0, int(seconds * 8000), 8000)))
        container.mux(sound.encode())
    return buffer.getvalue()


def make_jpeg(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="image2pipe") as container:
        stream = container.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
        container.mux(stream.encode(_video_frame(width, height, 90, "yuvj420p")))
        container.mux(stream.encode())
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
