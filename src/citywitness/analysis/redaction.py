"""Redaction plans: which rectangles to cover in which frames, found by the face and plate
detectors and adjusted by a reviewer.

Detection runs on every ``every``-th frame (CenterFace for faces, the plate detector for
plates); detections of consecutive samples are linked into *tracks* by overlap.  A track
covers its first detection one sample interval early and its last one interval late, and
between two detections it covers the union of both boxes, padded: a face that moves between
samples stays covered, and nothing flickers into view between detections.

A ``Plan`` is what the renderer draws: the tracks that are not removed, the mute ranges and
the mode.  Its SHA-256 over canonical JSON (``Plan.digest``) is what the ledger records
beside the derivative.  Faces found here are only covered: they are never embedded nor
matched against a watch list.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import av
import numpy as np
from numpy.typing import NDArray

from citywitness.analysis.contracts import Box
from citywitness.ledger.canonical import canonical_json

Mode = Literal["blur", "solid"]
Label = Literal["face", "plate", "manual"]
MODES: tuple[Mode, ...] = ("blur", "solid")

DEFAULT_EVERY = 2
DEFAULT_PAD = 0.2
FACE_THRESHOLD = 0.3  # below CenterFace's usual 0.5: a redaction errs towards covering
LINK_IOU = 0.05
MAX_GAP_SAMPLES = 3  # a track survives this many samples without a detection

Detect = Callable[[NDArray[np.uint8]], list[Box]]


@dataclass(frozen=True, slots=True)
class Keyframe:
    t: float
    box: Box

    def as_dict(self) -> dict[str, float]:
        return {"t": round(self.t, 4), **self.box.as_dict()}


@dataclass(slots=True)
class Track:
    """One thing to cover over a time span: a face, a plate or a reviewer's manual box."""

    id: str
    label: Label
    start_s: float
    end_s: float
    keyframes: list[Keyframe]
    source: Literal["auto", "manual"] = "auto"

    def box_at(self, t: float) -> Box | None:
        """The box to cover at time ``t``: the union of the keyframes around it."""
        if not self.keyframes or t < self.start_s or t > self.end_s:
            return None
        frames = self.keyframes
        if t <= frames[0].t:
            return frames[0].box
        for before, after in itertools.pairwise(frames):
            if before.t <= t <= after.t:
                return union(before.box, after.box)
        return frames[-1].box

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "source": self.source,
            "start_s": round(self.start_s, 4),
            "end_s": round(self.end_s, 4),
            "keyframes": [k.as_dict() for k in self.keyframes],
        }


def union(a: Box, b: Box) -> Box:
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x + a.w, b.x + b.w), max(a.y + a.h, b.y + b.h)
    return Box(x0, y0, x1 - x0, y1 - y0)


def padded(box: Box, pad: float) -> Box:
    """``box`` grown by ``pad`` of its width/height on every side, clipped to the frame."""
    x0 = max(0.0, box.x - box.w * pad)
    y0 = max(0.0, box.y - box.h * pad)
    x1 = min(1.0, box.x + box.w * (1 + pad))
    y1 = min(1.0, box.y + box.h * (1 + pad))
    return Box(x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    total = a.w * a.h + b.w * b.h - inter
    return inter / total if total > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the renderer needs; ``digest`` identifies it in the ledger."""

    tracks: tuple[Track, ...]
    mute: tuple[tuple[float, float], ...] = ()
    mode: Mode = "blur"
    pad: float = DEFAULT_PAD

    def boxes_at(self, t: float) -> list[Box]:
        found = (track.box_at(t) for track in self.tracks)
        return [padded(box, self.pad) for box in found if box is not None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "pad": self.pad,
            "mute": [[round(a, 4), round(b, 4)] for a, b in self.mute],
            "tracks": [t.as_dict() for t in sorted(self.tracks, key=lambda t: t.id)],
        }

    def digest(self) -> str:
        return hashlib.sha256(canonical_json(self.as_dict())).hexdigest()


def parse_range(text: str) -> tuple[float, float]:
    """``"12.5-14"`` -> (12.5, 14.0); ValueError unless 0 <= start < end."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"not a START-END range: {text!r}")
    begin, finish = float(start), float(end)
    if not 0 <= begin < finish:
        raise ValueError(f"need 0 <= START < END: {text!r}")
    return begin, finish


def merge_ranges(ranges: Iterable[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Sorted, overlapping ranges merged."""
    merged: list[list[float]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((a, b) for a, b in merged)


# --- linking detections into tracks -------------------------------------------------------


@dataclass(slots=True)
class _Open:
    track: Track
    last_sample: int


@dataclass(slots=True)
class Linker:
    """Links the boxes of successive samples into tracks of one label."""

    label: Label
    interval_s: float
    open: list[_Open] = field(default_factory=list)
    done: list[Track] = field(default_factory=list)
    count: int = 0

    def add(self, sample: int, t: float, boxes: Sequence[Box]) -> None:
        self._close_stale(sample)
        free = list(self.open)
        for box in sorted(boxes, key=lambda b: -b.w * b.h):
            best = max(free, key=lambda o: iou(o.track.keyframes[-1].box, box), default=None)
            if best is not None and iou(best.track.keyframes[-1].box, box) >= LINK_IOU:
                free.remove(best)
                best.track.keyframes.append(Keyframe(t, box))
                best.track.end_s = t + self.interval_s
                best.last_sample = sample
                continue
            self.count += 1
            track = Track(
                id=f"{self.label}-{self.count}",
                label=self.label,
                start_s=max(0.0, t - self.interval_s),
                end_s=t + self.interval_s,
                keyframes=[Keyframe(t, box)],
            )
            self.open.append(_Open(track, sample))

    def _close_stale(self, sample: int) -> None:
        keep = []
        for item in self.open:
            if sample - item.last_sample > MAX_GAP_SAMPLES:
                self.done.append(item.track)
            else:
                keep.append(item)
        self.open = keep

    def tracks(self) -> list[Track]:
        return self.done + [o.track for o in self.open]


# --- detection over a video ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Detection:
    """What automatic detection found in one video."""

    tracks: list[Track]
    frames: int
    sampled: int
    fps: float
    duration_s: float
    width: int
    height: int


def face_boxes(threshold: float = FACE_THRESHOLD) -> Detect:
    from citywitness.analysis.face_detect import FaceDetector  # noqa: PLC0415 - loads ONNX

    detector = FaceDetector(threshold=threshold)
    return lambda image: [face.box for face in detector.detect(image)]


def plate_boxes() -> Detect:
    from citywitness.analysis.plate_detect import PlateDetector  # noqa: PLC0415 - loads ONNX

    detector = PlateDetector()
    return lambda image: [box for box, _score in detector.detect(image)]


def detectors(*, faces: bool, plates: bool) -> dict[Label, Detect]:
    found: dict[Label, Detect] = {}
    if faces:
        found["face"] = face_boxes()
    if plates:
        found["plate"] = plate_boxes()
    return found


def _video_frames(source: Path | BinaryIO) -> Iterator[tuple[int, float, Any, float]]:
    """(index, time, frame, fps) of every decoded video frame."""
    target = str(source) if isinstance(source, Path) else source
    with av.open(target, mode="r") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        for index, frame in enumerate(container.decode(stream)):
            t = float(frame.time) if frame.time is not None else index / fps
            yield index, t, frame, fps


def detect(
    source: Path | BinaryIO, found_by: dict[Label, Detect], *, every: int = DEFAULT_EVERY
) -> Detection:
    """Run the detectors on every ``every``-th frame and link their boxes into tracks."""
    if every < 1:
        raise ValueError("every must be at least 1")
    linkers: dict[Label, Linker] = {}
    frames = sampled = width = height = 0
    fps, last_t = 25.0, 0.0
    for index, t, frame, fps in _video_frames(source):
        frames, last_t = index + 1, t
        width, height = frame.width, frame.height
        if index % every or not found_by:
            continue
        image = frame.to_ndarray(format="rgb24")
        for label, find in found_by.items():
            linker = linkers.setdefault(label, Linker(label, every / fps))
            linker.add(sampled, t, find(image))
        sampled += 1
    tracks = [track for linker in linkers.values() for track in linker.tracks()]
    return Detection(tracks, frames, sampled, fps, last_t + 1 / fps, width, height)
