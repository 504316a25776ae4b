"""Media facts read with PyAV, and whether a file is the media type it claims to be.

Only containers on an allow-list count as media: FFmpeg will "open" almost anything (a
text file is a valid `tty` video), so the container name, not PyAV's willingness, decides.
Documents are recognised by their magic bytes (PDF only).  Everything here is synchronous
and CPU-bound: callers run it in a worker thread.
"""

from __future__ import annotations

import io
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import av
import av.error

from citywitness.evidence.errors import MediaTypeMismatch
from citywitness.evidence.models import EvidenceKind
from citywitness.storage.reading import OpenObject

# FFmpeg demuxer name -> media types a file of that container may claim.
_MP4 = {"video/mp4", "video/quicktime", "audio/mp4", "audio/m4a", "audio/x-m4a", "video/3gpp"}
CONTAINER_TYPES: dict[str, set[str]] = {
    "mov,mp4,m4a,3gp,3g2,mj2": _MP4,
    "matroska,webm": {"video/x-matroska", "video/webm", "audio/webm", "audio/x-matroska"},
    "mpegts": {"video/mp2t"},
    "avi": {"video/x-msvideo", "video/avi"},
    "flv": {"video/x-flv"},
    "wav": {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"},
    "mp3": {"audio/mpeg", "audio/mp3"},
    "ogg": {"audio/ogg", "video/ogg", "audio/opus"},
    "aac": {"audio/aac", "audio/x-aac"},
    "flac": {"audio/flac", "audio/x-flac"},
    "amr": {"audio/amr"},
    "h264": {"video/h264"},
    "hevc": {"video/h265"},
    "jpeg_pipe": {"image/jpeg"},
    "png_pipe": {"image/png"},
    "webp_pipe": {"image/webp"},
    "bmp_pipe": {"image/bmp"},
    "tiff_pipe": {"image/tiff"},
}
IMAGE_CONTAINERS = frozenset(n for n, types in CONTAINER_TYPES.items() if "image/" in str(types))
DOCUMENT_MAGIC: dict[bytes, str] = {b"%PDF-": "application/pdf"}
PREFERRED_TYPE = {
    "mov,mp4,m4a,3gp,3g2,mj2": "video/mp4",
    "matroska,webm": "video/x-matroska",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
}
PROBE_OPTIONS = {"probesize": str(8 * 1024 * 1024), "analyzeduration": str(10_000_000)}


@dataclass(frozen=True)
class MediaFacts:
    """What a file is, as read from its bytes (never from what the sender claims)."""

    kind: EvidenceKind
    media_type: str
    container: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class StoredObjectFile(io.RawIOBase):
    """A seekable, read-only file over a decrypted stored object (for PyAV, in a thread)."""

    def __init__(self, opened: OpenObject) -> None:
        super().__init__()
        self._opened = opened
        self._pos = 0
        self._chunk_index = -1
        self._chunk = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._opened.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self._opened.size or not len(view):
            return 0
        size = self._opened.chunk_size
        index = self._pos // size
        if index != self._chunk_index:
            self._chunk = self._opened.read_chunks(index, index)[0]
            self._chunk_index = index
        start = self._pos - index * size
        piece = self._chunk[start : start + len(view)]
        view[: len(piece)] = piece
        self._pos += len(piece)
        return len(piece)


def _head(source: Path | BinaryIO, n: int = 16) -> bytes:
    if isinstance(source, Path):
        with source.open("rb") as handle:
            return handle.read(n)
    source.seek(0)
    head = source.read(n)
    source.seek(0)
    return head


def _stream_facts(container: Any) -> dict[str, Any]:
    video = next(iter(container.streams.video), None)
    audio = next(iter(container.streams.audio), None)
    duration = None
    if container.duration is not None and container.duration > 0:
        duration = round(container.duration / 1_000_000, 3)
    elif video is not None and video.duration and video.time_base:
        duration = round(float(video.duration * video.time_base), 3)
    facts: dict[str, Any] = {
        "video_codec": video.codec_context.name if video is not None else None,
        "audio_codec": audio.codec_context.name if audio is not None else None,
        "width": video.codec_context.width or None if video is not None else None,
        "height": video.codec_context.height or None if video is not None else None,
        "duration_seconds": duration,
    }
    extra: dict[str, Any] = {"streams": len(container.streams)}
    if video is not None and video.average_rate and duration:
        extra["frame_rate"] = round(float(video.average_rate), 3)
    if audio is not None:
        extra["sample_rate"] = audio.codec_context.sample_rate
        extra["channels"] = audio.codec_context.channels
    if container.bit_rate:
        extra["bit_rate"] = int(container.bit_rate)
    facts["extra"] = extra
    return facts


def _kind_of(container_name: str, facts: dict[str, Any]) -> EvidenceKind | None:
    if container_name in IMAGE_CONTAINERS:
        return EvidenceKind.PHOTO if facts["video_codec"] else None
    if facts["video_codec"]:
        return EvidenceKind.VIDEO
    if facts["audio_codec"]:
        return EvidenceKind.AUDIO
    return None


def probe(source: Path | BinaryIO) -> MediaFacts:
    """Read the facts of a file; `MediaTypeMismatch` if it is no media or document we know."""
    head = _head(source)
    for magic, media_type in DOCUMENT_MAGIC.items():
        if head.startswith(magic):
            return MediaFacts(kind=EvidenceKind.DOCUMENT, media_type=media_type)
    try:
        target = str(source) if isinstance(source, Path) else source
        with av.open(target, mode="r", options=PROBE_OPTIONS) as container:
            name = container.format.name
            facts = _stream_facts(container)
    except (av.error.FFmpegError, ValueError, OSError, UnicodeDecodeError) as exc:
        raise MediaTypeMismatch("the file is not a media file or document we can read") from exc
    kind = _kind_of(name, facts) if name in CONTAINER_TYPES else None
    if kind is None:
        raise MediaTypeMismatch("the file is not a media file or document we can read")
    media_type = PREFERRED_TYPE.get(name, sorted(CONTAINER_TYPES[name])[0])
    if kind is EvidenceKind.AUDIO and media_type.startswith("video/"):
        media_type = "audio/" + media_type.split("/", 1)[1]
    return MediaFacts(kind=kind, media_type=media_type, container=name, **facts)


def accepted_types(facts: MediaFacts) -> set[str]:
    if facts.container is None:
        return {facts.media_type}
    return CONTAINER_TYPES[facts.container] | {facts.media_type}


def check_claim(
    facts: MediaFacts,
    *,
    claimed_type: str | None,
    filename: str,
    claimed_kind: EvidenceKind | None,
) -> str:
    """The media type to record (the one read from the bytes), after checking the claims.

    A claimed type the container cannot be, or a claimed kind the content is not, is
    `MediaTypeMismatch`.  With no claimed type, the file name's extension is the claim
    (when it names one).
    """
    claim = (claimed_type or "").split(";", 1)[0].strip().lower() or None
    if claim is None:
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        claim = guessed.lower() if guessed else None
    fields: dict[str, str] = {}
    if claim not in {None, "application/octet-stream"} and claim not in accepted_types(facts):
        fields["media_type"] = f"claims {claim}, but the content is {facts.media_type}"
    if claimed_kind is not None and claimed_kind is not facts.kind:
        fields["kind"] = f"claims {claimed_kind.value}, but the content is {facts.kind.value}"
    if fields:
        raise MediaTypeMismatch(fields=fields)
    return facts.media_type
