"""A simple multi-object tracker across sampled frames: greedy matching on centroid distance.

Frames are sampled sparsely (a few per second), so a running person can move more than its
own width between two samples and box overlap (IoU) alone would lose it. Instead each
detection is matched to the track whose last box is nearest, with the distance measured in
"body sizes" (the longer side of the track's last box) and allowed to grow with the time
since the track was last seen (``max_speed`` sizes per second). A fall turns a tall box into
a wide one of about the same longer side, so that scale survives the fall. Tracks not seen
for ``max_age_s`` are closed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from citywitness.analysis.contracts import Box


@dataclass(frozen=True, slots=True)
class Observation:
    """A track's box at one sampled frame."""

    offset_s: float
    box: Box
    score: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.box.x + self.box.w / 2, self.box.y + self.box.h / 2


@dataclass(slots=True)
class Track:
    """One object followed over time; ``history`` is in time order."""

    track_id: int
    history: list[Observation] = field(default_factory=list)

    @property
    def last(self) -> Observation:
        return self.history[-1]

    def since(self, offset_s: float) -> list[Observation]:
        """Observations at or after ``offset_s``."""
        return [o for o in self.history if o.offset_s >= offset_s - 1e-9]


def size(box: Box, aspect: float = 1.0) -> float:
    """The longer side of a box, with heights measured in width units (``aspect``: w/h px)."""
    return max(box.w, box.h / aspect)


def distance(a: Box, b: Box, aspect: float = 1.0) -> float:
    """Centre distance in width units (a frame's width is 1; heights scaled by ``aspect``)."""
    ax, ay = a.x + a.w / 2, (a.y + a.h / 2) / aspect
    bx, by = b.x + b.w / 2, (b.y + b.h / 2) / aspect
    return math.hypot(ax - bx, ay - by)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


class Tracker:
    """Greedy nearest-centroid tracker.

    ``aspect`` is the frame's width / height (so distances are isotropic in pixels);
    ``max_speed`` the fastest plausible motion in body sizes per second; ``min_gap`` the
    jump always allowed between consecutive samples, in body sizes.
    """

    def __init__(
        self,
        *,
        aspect: float = 16 / 9,
        max_speed: float = 4.0,
        min_gap: float = 0.75,
        max_age_s: float = 1.5,
    ) -> None:
        self.aspect = aspect
        self.max_speed = max_speed
        self.min_gap = min_gap
        self.max_age_s = max_age_s
        self._next_id = 1
        self.active: list[Track] = []
        self.closed: list[Track] = []

    def update(self, offset_s: float, boxes: Sequence[tuple[Box, float]]) -> list[Track]:
        """Add one sampled frame's detections; returns the tracks seen in this frame."""
        self._expire(offset_s)
        pairs: list[tuple[float, int, int]] = []
        for t_index, track in enumerate(self.active):
            last = track.last
            scale = size(last.box, self.aspect)
            allowed = max(self.min_gap, self.max_speed * (offset_s - last.offset_s))
            for d_index, (box, _) in enumerate(boxes):
                gap = distance(last.box, box, self.aspect) / max(scale, 1e-6)
                ratio = size(box, self.aspect) / max(scale, 1e-6)
                if gap <= allowed and 0.5 <= ratio <= 2.0:
                    pairs.append((gap, t_index, d_index))
        pairs.sort()
        used_tracks: set[int] = set()
        used_boxes: set[int] = set()
        seen: list[Track] = []
        for _, t_index, d_index in pairs:
            if t_index in used_tracks or d_index in used_boxes:
                continue
            used_tracks.add(t_index)
            used_boxes.add(d_index)
            track = self.active[t_index]
            box, score = boxes[d_index]
            track.history.append(Observation(offset_s, box, score))
            seen.append(track)
        for d_index, (box, score) in enumerate(boxes):
            if d_index not in used_boxes:
                track = Track(self._next_id, [Observation(offset_s, box, score)])
                self._next_id += 1
                self.active.append(track)
                seen.append(track)
        return sorted(seen, key=lambda t: t.track_id)

    def _expire(self, offset_s: float) -> None:
        keep: list[Track] = []
        for track in self.active:
            if offset_s - track.last.offset_s > self.max_age_s:
                self.closed.append(track)
            else:
                keep.append(track)
        self.active = keep

    def tracks(self) -> Iterator[Track]:
        """Every track so far, closed and active, by id."""
        yield from sorted([*self.closed, *self.active], key=lambda t: t.track_id)
