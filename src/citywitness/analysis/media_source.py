"""Decoded media for analyzers: sampled video frames (RGB arrays) and 16 kHz mono audio.

A ``MediaSource`` wraps a file path or bytes (a live segment) and decodes lazily with PyAV;
images (JPEG, PNG...) are read with Pillow and behave as a one-frame video. ``base_offset_s``
is added to every offset so findings on a live segment carry their time in the session.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

AUDIO_RATE = 16_000
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"})


class MediaUnreadable(ValueError):
    """The media cannot be decoded (not a video, audio or image file we can read)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One sampled frame: RGB uint8 array (height, width, 3) and its time in the media."""

    offset_s: float
    image: NDArray[np.uint8]
    index: int  # position among the sampled frames (0, 1, 2...)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


def _scaled(image: Image.Image, max_side: int) -> Image.Image:
    longest = max(image.size)
    if longest <= max_side:
        return image
    ratio = max_side / longest
    return image.resize((max(1, round(image.width * ratio)), max(1, round(image.height * ratio))))


def motion_score(previous: NDArray[np.uint8], current: NDArray[np.uint8]) -> float:
    """Mean absolute change between two frames, 0..1, on 64x36 grey thumbnails."""
    a = np.asarray(Image.fromarray(previous).convert("L").resize((64, 36)), dtype=np.int16)
    b = np.asarray(Image.fromarray(current).convert("L").resize((64, 36)), dtype=np.int16)
    return float(np.abs(a - b).mean() / 255.0)


class MediaSource:
    """A file or a byte string to analyse."""

    def __init__(
        self,
        media: Path | bytes,
        *,
        name: str | None = None,
        base_offset_s: float = 0.0,
    ) -> None:
        self.media = media
        self.name = name or (media.name if isinstance(media, Path) else "segment")
        self.base_offset_s = base_offset_s

    @property
    def is_image(self) -> bool:
        return isinstance(self.media, Path) and self.media.suffix.lower() in _IMAGE_SUFFIXES

    def _open(self) -> av.container.InputContainer:
        target: str | io.BytesIO = (
            str(self.media) if isinstance(self.media, Path) else io.BytesIO(self.media)
        )
        try:
            return av.open(target, mode="r")
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaUnreadable(f"{self.name}: cannot open media ({exc})") from exc

    def frames(
        self,
        *,
        sample_fps: float = 2.0,
        max_side: int = 1280,
        motion_gate: float | None = None,
    ) -> Iterator[Frame]:
        """Frames sampled at ``sample_fps`` (at most), scaled to ``max_side``.

        With ``motion_gate`` a sampled frame is skipped when it changed less than that
        fraction from the last frame yielded.
        """
        if self.is_image and isinstance(self.media, Path):
            try:
                with Image.open(self.media) as img:
                    rgb = _scaled(img.convert("RGB"), max_side)
                    yield Frame(self.base_offset_s, np.asarray(rgb, dtype=np.uint8), 0)
            except (UnidentifiedImageError, OSError) as exc:
                raise MediaUnreadable(f"{self.name}: cannot read image ({exc})") from exc
            return
        interval = 1.0 / sample_fps
        next_t = 0.0
        index = 0
        last: NDArray[np.uint8] | None = None
        with self._open() as container:
            if not container.streams.video:
                return
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            try:
                for frame in container.decode(stream):
                    t = float(frame.time) if frame.time is not None else index * interval
                    if t + 1e-6 < next_t:
                        continue
                    next_t = t + interval
                    rgb = Image.fromarray(frame.to_ndarray(format="rgb24"))
                    image = np.asarray(_scaled(rgb, max_side), dtype=np.uint8)
                    if (
                        motion_gate is not None
                        and last is not None
                        and motion_score(last, image) < motion_gate
                    ):
                        continue
                    last = image
                    yield Frame(self.base_offset_s + t, image, index)
                    index += 1
            except av.error.FFmpegError as exc:
                raise MediaUnreadable(f"{self.name}: video decoding failed ({exc})") from exc

    def audio(self) -> NDArray[np.float32]:
        """The first audio stream as 16 kHz mono float32 in -1..1 (empty when none)."""
        if self.is_image:
            return np.zeros(0, dtype=np.float32)
        chunks: list[NDArray[np.float32]] = []
        with self._open() as container:
            if not container.streams.audio:
                return np.zeros(0, dtype=np.float32)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
            try:
                for frame in container.decode(container.streams.audio[0]):
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
            except av.error.FFmpegError as exc:
                raise MediaUnreadable(f"{self.name}: audio decoding failed ({exc})") from exc
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)

    def duration_s(self) -> float:
        """Length in seconds (0 for an image or unknown)."""
        if self.is_image:
            return 0.0
        with self._open() as container:
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            return 0.0
