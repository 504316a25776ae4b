"""Making derivatives with PyAV: a JPEG thumbnail and low-bitrate browser proxies
(H.264/AAC MP4 for video, mono AAC in MP4 for audio).

Synchronous and CPU-bound (run in a worker thread).  Sources are read-only file objects
over the decrypted original; nothing here writes the original.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av
import av.error

THUMBNAIL_AT_SECONDS = 1.0
PROXY_FPS = 15
AUDIO_PROXY_RATE = 24_000  # Hz: speech and scene sound; every browser's AAC decoder takes it


@dataclass(frozen=True)
class Picture:
    data: bytes
    width: int
    height: int


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _first_frame(container: Any, at_seconds: float) -> Any:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    chosen = None
    for frame in container.decode(stream):
        chosen = frame
        if frame.time is None or frame.time >= at_seconds:
            break
    return chosen


def make_thumbnail(source: BinaryIO | Path, width: int) -> Picture | None:
    """A JPEG of the frame at about one second (or the last one, if shorter); None if none."""
    target = str(source) if isinstance(source, Path) else source
    with av.open(target, mode="r") as container:
        if not container.streams.video:
            return None
        frame = _first_frame(container, THUMBNAIL_AT_SECONDS)
    if frame is None:
        return None
    out_w = min(width, _even(frame.width))
    out_h = _even(frame.height * out_w / frame.width)
    scaled = frame.reformat(width=out_w, height=out_h, format="yuvj420p")
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="image2pipe") as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = out_w, out_h, "yuvj420p"
        scaled.pts = None
        for packet in stream.encode(scaled):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return Picture(buffer.getvalue(), out_w, out_h)


@dataclass(frozen=True)
class ProxySettings:
    height: int
    video_bitrate: int
    audio_bitrate: int


def _proxy_size(width: int, height: int, target_height: int) -> tuple[int, int]:
    out_h = min(_even(height), _even(target_height))
    return _even(width * out_h / height), out_h


def make_proxy(
    source: BinaryIO | Path, dest: BinaryIO | Path, opts: ProxySettings
) -> tuple[int, int]:
    """Write an H.264/AAC MP4 of the first video and audio streams to `dest`.

    The index (moov) ends the file: `+faststart` needs a second pass over a real file,
    and derivatives never touch a disk in plaintext.  Browsers read the index with a
    range request, which the proxy endpoint serves.
    """
    target = str(source) if isinstance(source, Path) else source
    with av.open(target, mode="r") as src:
        video_in = src.streams.video[0]
        audio_in = src.streams.audio[0] if src.streams.audio else None
        out_w, out_h = _proxy_size(
            video_in.codec_context.width, video_in.codec_context.height, opts.height
        )
        sink = str(dest) if isinstance(dest, Path) else dest
        with av.open(sink, mode="w", format="mp4") as out:
            video_out = out.add_stream("libx264", rate=PROXY_FPS)
            video_out.width, video_out.height, video_out.pix_fmt = out_w, out_h, "yuv420p"
            video_out.bit_rate = opts.video_bitrate
            video_out.options = {"preset": "veryfast"}
            audio_out = None
            if audio_in is not None:
                audio_out = out.add_stream("aac", rate=audio_in.codec_context.sample_rate or 44100)
                audio_out.bit_rate = opts.audio_bitrate
            _transcode(src, video_in, audio_in, video_out, audio_out, out)
    return out_w, out_h


def _transcode(  # noqa: PLR0917 - the streams of one transcode, private
    src: Any, video_in: Any, audio_in: Any, video_out: Any, audio_out: Any, out: Any
) -> None:
    streams = [video_in] + ([audio_in] if audio_in is not None else [])
    last_pts = -1
    for packet in src.demux(*streams):
        for frame in packet.decode():
            if packet.stream is video_in:
                pts = (
                    round((frame.time or 0.0) * PROXY_FPS)
                    if frame.time is not None
                    else last_pts + 1
                )
                if pts <= last_pts:
                    continue  # more frames than PROXY_FPS: drop this one
                last_pts = pts
                scaled = frame.reformat(
                    width=video_out.width, height=video_out.height, format="yuv420p"
                )
                scaled.pts = pts
                scaled.time_base = Fraction(1, PROXY_FPS)
                out.mux(video_out.encode(scaled))
            elif audio_out is not None:
                frame.pts = None
                out.mux(audio_out.encode(frame))
    out.mux(video_out.encode())
    if audio_out is not None:
        out.mux(audio_out.encode())


def make_audio_proxy(source: BinaryIO | Path, dest: BinaryIO | Path, bitrate: int) -> bool:
    """Write a mono AAC-LC MP4 (M4A) of the first audio stream to `dest`, for any input
    PyAV decodes (AMR, PCM WAV, MP3, Opus...); False if there is no audio to decode.

    Like the video proxy, built in memory, index at the end (no `+faststart`)."""
    target = str(source) if isinstance(source, Path) else source
    try:
        with av.open(target, mode="r") as src:
            if not src.streams.audio:
                return False
            audio_in = src.streams.audio[0]
            sink = str(dest) if isinstance(dest, Path) else dest
            with av.open(sink, mode="w", format="mp4") as out:
                audio_out = out.add_stream("aac", rate=AUDIO_PROXY_RATE, layout="mono")
                audio_out.bit_rate = bitrate
                resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_PROXY_RATE)
                for frame in src.decode(audio_in):
                    for mono in resampler.resample(frame):
                        out.mux(audio_out.encode(mono))
                for mono in resampler.resample(None):
                    out.mux(audio_out.encode(mono))
                out.mux(audio_out.encode())
    except av.error.FFmpegError:
        return False
    return True


def is_decodable_video(source: BinaryIO | Path) -> bool:
    try:
        target = str(source) if isinstance(source, Path) else source
        with av.open(target, mode="r") as container:
            return bool(container.streams.video)
    except av.error.FFmpegError:
        return False
