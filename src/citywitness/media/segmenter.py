"""Remux a stream (file, RTSP, RTMP, any URL FFmpeg reads) into live segments, no transcoding.

FFmpeg's HLS muxer does the cutting: a new segment starts at the first keyframe after
`target_seconds`, so segments are as long as the source's keyframe interval allows.  It
writes into a private scratch directory; each piece is read back and deleted as soon as
the playlist lists it (FFmpeg lists a segment only once it is complete).  Synchronous: a
caller on an event loop drives the generator from a thread.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.error

from citywitness.media.models import SegmentFormat

log = logging.getLogger(__name__)

EXTENSIONS = {SegmentFormat.FMP4: "m4s", SegmentFormat.TS: "ts"}
HLS_TYPES = {SegmentFormat.FMP4: "fmp4", SegmentFormat.TS: "mpegts"}
INIT_NAME = "init.mp4"


@dataclass(frozen=True)
class Piece:
    """The init segment (`seq` None, fMP4 only) or media segment `seq`."""

    seq: int | None
    data: bytes
    duration: float = 0.0


class _Playlist:
    """The segments FFmpeg's playlist lists, read incrementally."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen = 0
        self._stamp: tuple[int, int] | None = None

    def new_entries(self) -> list[tuple[str, float]]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return []
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return []
        self._stamp = stamp
        entries: list[tuple[str, float]] = []
        duration = 0.0
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#EXTINF:"):
                duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
            elif line and not line.startswith("#"):
                entries.append((line, duration))
        fresh = entries[self.seen :]
        self.seen = len(entries)
        return fresh


def segments(
    source: str,
    fmt: SegmentFormat,
    *,
    target_seconds: float = 2.0,
    input_options: dict[str, str] | None = None,
    audio: bool = True,
    scratch: Path | None = None,
) -> Generator[Piece, None, None]:
    """The init segment (fMP4), then segments 0, 1, 2... of `source` until it ends."""
    directory = Path(tempfile.mkdtemp(prefix="cw-segments-", dir=scratch))
    try:
        yield from _remux(source, fmt, directory, target_seconds, input_options or {}, audio)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _open_output(directory: Path, fmt: SegmentFormat, target_seconds: float) -> Any:
    options = {
        "hls_time": f"{target_seconds:g}",
        "hls_segment_type": HLS_TYPES[fmt],
        "hls_list_size": "0",
        "hls_segment_filename": str(directory / f"seg%d.{EXTENSIONS[fmt]}"),
        "hls_fmp4_init_filename": INIT_NAME,
    }
    return av.open(str(directory / "live.m3u8"), mode="w", format="hls", options=options)


def _remux(  # noqa: PLR0917 - the public `segments` is keyword-only
    source: str,
    fmt: SegmentFormat,
    directory: Path,
    target_seconds: float,
    input_options: dict[str, str],
    audio: bool,
) -> Iterator[Piece]:
    playlist = _Playlist(directory / "live.m3u8")
    state = {"seq": 0, "init_sent": fmt is not SegmentFormat.FMP4}
    with av.open(source, mode="r", options=input_options) as inp:
        video = next(iter(inp.streams.video), None)
        if video is None:
            raise ValueError("the source has no video stream")
        wanted: list[Any] = [video]
        sound = next(iter(inp.streams.audio), None)
        if audio and sound is not None and sound.codec_context.name in ("aac", "mp3"):
            wanted.append(sound)
        out = _open_output(directory, fmt, target_seconds)
        try:
            mapping = {s.index: out.add_stream_from_template(s) for s in wanted}
            muxed = 0
            packets = inp.demux(*wanted)
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.error.FFmpegError:
                    if not muxed:
                        raise
                    # A live source that goes away (a publisher disconnecting from RTMP
                    # reads as an I/O error, not an end of file) ends the stream here.
                    log.info("source ended with an error", extra={"packets": muxed})
                    break
                if packet.dts is None:
                    continue
                packet.stream = mapping[packet.stream.index]
                out.mux(packet)
                muxed += 1
                yield from _ready(playlist, directory, state)
        finally:
            out.close()
    yield from _ready(playlist, directory, state)


def _ready(playlist: _Playlist, directory: Path, state: dict[str, Any]) -> Iterator[Piece]:
    for name, duration in playlist.new_entries():
        if not state["init_sent"]:
            init = directory / INIT_NAME
            yield Piece(seq=None, data=init.read_bytes())
            state["init_sent"] = True
        path = directory / name
        data = path.read_bytes()
        path.unlink()
        yield Piece(seq=state["seq"], data=data, duration=duration)
        state["seq"] += 1
