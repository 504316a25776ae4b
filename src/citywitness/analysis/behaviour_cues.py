"""The video cues of the ``behaviour`` analyzer, computed frame by frame from person tracks.

``CueState.observe`` is called once per sampled frame with the tracks seen in it and returns
the cues confirmed at that frame (each cue's ``offset_s`` is when it started, which can be
earlier). Each cue fires once per episode: a track that keeps running yields one
``cue.running``, and fires again only after slowing down. See ``behaviour`` for the rules.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

from citywitness.analysis.contracts import AlertHint, Box, Finding, ModelRef
from citywitness.analysis.media_source import Frame
from citywitness.analysis.person_detect import YOLOV8N_COCO
from citywitness.analysis.pose_detect import YOLO11N_POSE
from citywitness.analysis.tracking import Observation, Track, iou

if TYPE_CHECKING:
    from citywitness.analysis.behaviour import BehaviourConfig

ANALYZER = "behaviour"
_THUMB_WIDTH = 160
_MIN_PHASE_RESPONSE = 0.05
_BACK_AND_FORTH = 2.0  # struggle: path at least this many times the net displacement
_PAIR_TIMEOUT_S = 1.0  # a pair apart (or unseen) this long starts over


def margin(value: float, threshold: float) -> float:
    """Confidence from how far a measure passes its threshold: 0.5 at it, 0.99 at twice it."""
    if threshold <= 0:
        return 0.99
    return max(0.5, min(0.99, 0.5 + 0.5 * (value / threshold - 1.0)))


def union(boxes: Sequence[Box]) -> Box:
    x0 = min(b.x for b in boxes)
    y0 = min(b.y for b in boxes)
    x1 = max(b.x + b.w for b in boxes)
    y1 = max(b.y + b.h for b in boxes)
    return Box(x0, y0, x1 - x0, y1 - y0)


def person_findings(offset_s: float, seen: Sequence[Track]) -> Iterator[Finding]:
    """One ``person`` finding per person in view (emitted when the count changes)."""
    for track in seen:
        yield Finding(
            analyzer=ANALYZER,
            label="person",
            offset_s=offset_s,
            confidence=round(track.last.score, 4),
            model=YOLOV8N_COCO.ref(),
            box=track.last.box,
            attributes={"track_id": track.track_id, "persons": len(seen)},
        )


class CameraMotion:
    """Cumulative shift of the background between sampled frames (phase correlation).

    Persons are masked out (filled with the frame's mean) so their own motion does not count.
    ``shift[offset_s]`` is the background's total displacement since the first frame, as
    fractions of the frame's width and height.
    """

    def __init__(self) -> None:
        self._previous: NDArray[np.float32] | None = None
        self._total = (0.0, 0.0)
        self.shift: dict[float, tuple[float, float]] = {}

    def observe(self, frame: Frame, boxes: Sequence[Box]) -> None:
        height = max(1, round(frame.height * _THUMB_WIDTH / frame.width))
        grey = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        thumb = cv2.resize(grey, (_THUMB_WIDTH, height), interpolation=cv2.INTER_AREA)
        current = thumb.astype(np.float32)
        fill = float(current.mean())
        for box in boxes:
            x0, y0, x1, y1 = box.to_pixels(_THUMB_WIDTH, height)
            current[y0:y1, x0:x1] = fill
        if self._previous is not None and self._previous.shape == current.shape:
            window = cv2.createHanningWindow((_THUMB_WIDTH, height), cv2.CV_32F)
            (dx, dy), response = cv2.phaseCorrelate(self._previous, current, window)
            if response >= _MIN_PHASE_RESPONSE:
                self._total = (self._total[0] + dx / _THUMB_WIDTH, self._total[1] + dy / height)
        self._previous = current
        self.shift[frame.offset_s] = self._total

    def world(self, observation: Observation) -> tuple[float, float]:
        """An observation's centre with the camera's shift removed (frame fractions)."""
        cx, cy = observation.centre
        sx, sy = self.shift.get(observation.offset_s, (0.0, 0.0))
        return cx - sx, cy - sy


@dataclass(slots=True)
class _Pair:
    since: float
    last: float
    relative: list[tuple[float, float, float]] = field(default_factory=list)  # t, dx, dy
    heights: list[float] = field(default_factory=list)
    overlaps: list[float] = field(default_factory=list)
    emitted: bool = False


@dataclass(slots=True)
class _Crowd:
    since: float
    last: float
    peak: int
    emitted: bool = False


class CueState:
    """Per-analysis state of the video cues."""

    def __init__(self, config: BehaviourConfig, *, aspect: float) -> None:
        self.config = config
        self.aspect = aspect  # frame width / height in pixels
        self.camera = CameraMotion()
        self.running: set[int] = set()
        self.fallen: set[int] = set()
        self.torso: dict[int, dict[float, float]] = {}  # track -> offset_s -> torso angle
        self.pairs: dict[tuple[int, int], _Pair] = {}
        self.crowd: _Crowd | None = None

    def observe(
        self, frame: Frame, seen: Sequence[Track], angles: Mapping[int, float] | None = None
    ) -> list[Finding]:
        """Cues confirmed at ``frame``; ``angles`` maps track ids to torso angles (pose)."""
        for track_id, angle in (angles or {}).items():
            self.torso.setdefault(track_id, {})[frame.offset_s] = angle
        if self.config.compensate_camera:
            self.camera.observe(frame, [t.last.box for t in seen])
        now = frame.offset_s
        found: list[Finding] = []
        for track in seen:
            found += self._fall(track)
            found += self._running(track, now)
        found += self._crowd(now, seen)
        found += self._struggle(now, seen)
        return found

    def _cue(
        self,
        label: str,
        start: float,
        now: float,
        confidence: float,
        box: Box,
        *,
        model: ModelRef | None = None,
        **attrs: Any,
    ) -> Finding:
        alert = None
        serious = {"cue.fall": "Possible fall", "cue.struggle": "Possible struggle"}
        if label in serious and confidence >= self.config.alert_min_confidence:
            alert = AlertHint("behaviour_cue", "high", serious[label])
        return Finding(
            analyzer=ANALYZER,
            label=label,
            offset_s=start,
            duration_s=round(now - start, 3),
            confidence=round(confidence, 4),
            model=model or YOLOV8N_COCO.ref(),
            box=box,
            attributes=attrs,
            alert=alert,
        )

    def _ratio(self, box: Box) -> float:
        """Height / width in pixels."""
        return (box.h / box.w) / self.aspect if box.w > 0 else math.inf

    def _angle(self, track_id: int, observation: Observation) -> float | None:
        return self.torso.get(track_id, {}).get(observation.offset_s)

    def _standing(self, track_id: int, observation: Observation) -> bool:
        angle = self._angle(track_id, observation)
        if angle is not None:
            return angle <= self.config.upright_torso_angle
        return self._ratio(observation.box) >= self.config.fall_tall_ratio

    def _fall(self, track: Track) -> list[Finding]:
        """Standing, then lying within the window with the box top dropped (see behaviour)."""
        config, now, tid = self.config, track.last, track.track_id
        angle_now = self._angle(tid, now)
        if self._standing(tid, now):
            self.fallen.discard(tid)
        lying = (
            angle_now >= config.fall_torso_angle
            if angle_now is not None
            else self._ratio(now.box) <= config.fall_wide_ratio
        )
        if not lying or tid in self.fallen:
            return []
        window = track.since(now.offset_s - config.fall_window_s)[:-1]
        standing = [o for o in window if self._standing(tid, o)]
        if not standing:
            return []
        before = standing[-1]
        drop = (now.box.y - before.box.y) / before.box.h
        if drop < config.fall_min_drop:
            return []
        self.fallen.add(tid)
        ratio_before, ratio_now = self._ratio(before.box), self._ratio(now.box)
        angle_before = self._angle(tid, before)
        pose = {}
        if angle_now is not None and angle_before is not None:
            tilt = config.fall_torso_angle - config.upright_torso_angle
            shape = margin(angle_now - angle_before, max(tilt, 1.0))
            pose = {
                "torso_angle_before": round(angle_before, 1),
                "torso_angle_after": round(angle_now, 1),
            }
        else:
            shape = margin(
                ratio_before / ratio_now, config.fall_tall_ratio / config.fall_wide_ratio
            )
        score = math.sqrt((before.score + now.score) / 2)
        confidence = (margin(drop, max(config.fall_min_drop, 1e-6)) + shape) / 2 * score
        return [
            self._cue(
                "cue.fall",
                before.offset_s,
                now.offset_s,
                confidence,
                now.box,
                model=YOLO11N_POSE.ref() if pose else None,
                track_id=tid,
                method="pose" if pose else "box",
                **pose,
                height_width_before=round(ratio_before, 2),
                height_width_after=round(ratio_now, 2),
                drop_body_heights=round(drop, 2),
            )
        ]

    def _running(self, track: Track, now_s: float) -> list[Finding]:
        config, now = self.config, track.last
        earlier = [
            o
            for o in track.since(now_s - 2 * config.running_min_span_s)
            if o.offset_s <= now_s - config.running_min_span_s + 1e-6
        ]
        if not earlier:
            return []
        start = earlier[-1]
        (x0, y0), (x1, y1) = self.camera.world(start), self.camera.world(now)
        height = float(np.median([o.box.h for o in track.since(start.offset_s)])) / self.aspect
        speed = math.hypot(x1 - x0, (y1 - y0) / self.aspect) / height / (now_s - start.offset_s)
        if speed < config.running_speed:
            if speed < 0.7 * config.running_speed:
                self.running.discard(track.track_id)
            return []
        if track.track_id in self.running:
            return []
        self.running.add(track.track_id)
        confidence = margin(speed, config.running_speed) * math.sqrt(now.score)
        return [
            self._cue(
                "cue.running",
                start.offset_s,
                now_s,
                confidence,
                now.box,
                track_id=track.track_id,
                speed_body_heights_per_s=round(speed, 2),
                camera_compensated=config.compensate_camera,
            )
        ]

    def _crowd(self, now: float, seen: Sequence[Track]) -> list[Finding]:
        config, count = self.config, len(seen)
        crowd = self.crowd
        if count < config.crowd_min_persons:
            if crowd is not None and now - crowd.last > 1.0:
                self.crowd = None
            return []
        if crowd is None:
            crowd = self.crowd = _Crowd(since=now, last=now, peak=count)
        crowd.last, crowd.peak = now, max(crowd.peak, count)
        if crowd.emitted or now - crowd.since < config.crowd_min_duration_s:
            return []
        crowd.emitted = True
        confidence = margin(count, config.crowd_min_persons) * math.sqrt(
            float(np.mean([t.last.score for t in seen]))
        )
        box = union([t.last.box for t in seen])
        return [self._cue("cue.crowd", crowd.since, now, confidence, box, persons=crowd.peak)]

    def _struggle(self, now: float, seen: Sequence[Track]) -> list[Finding]:
        config, found = self.config, []
        for index, a in enumerate(seen):
            for b in seen[index + 1 :]:
                overlap = iou(a.last.box, b.last.box)
                if self._gap(a.last.box, b.last.box) > config.struggle_max_gap:
                    continue
                key = (min(a.track_id, b.track_id), max(a.track_id, b.track_id))
                pair = self.pairs.get(key)
                if pair is None or now - pair.last > _PAIR_TIMEOUT_S:
                    pair = self.pairs[key] = _Pair(since=now, last=now)
                first, second = (a, b) if a.track_id < b.track_id else (b, a)
                (ax, ay), (bx, by) = first.last.centre, second.last.centre
                pair.relative.append((now, bx - ax, (by - ay) / self.aspect))
                pair.heights.append((a.last.box.h + b.last.box.h) / 2 / self.aspect)
                pair.overlaps.append(overlap)
                pair.last = now
                finding = self._struggle_cue(pair, now, first, second)
                if finding is not None:
                    found.append(finding)
        return found

    def _gap(self, a: Box, b: Box) -> float:
        """Distance between two boxes' edges (0 when they touch), in body heights."""
        gx = max(0.0, max(a.x, b.x) - min(a.x + a.w, b.x + b.w))
        gy = max(0.0, max(a.y, b.y) - min(a.y + a.h, b.y + b.h)) / self.aspect
        height = max(a.h, b.h) / self.aspect
        return math.hypot(gx, gy) / height if height > 0 else math.inf

    def _struggle_cue(self, pair: _Pair, now: float, a: Track, b: Track) -> Finding | None:
        config = self.config
        if pair.emitted or now - pair.since < config.struggle_min_duration_s:
            return None
        recent = [r for r in pair.relative if r[0] >= now - config.struggle_min_duration_s - 1e-6]
        if len(recent) < 2:
            return None
        steps = itertools.pairwise(recent)
        path = sum(math.hypot(q[1] - p[1], q[2] - p[2]) for p, q in steps)
        motion = path / float(np.median(pair.heights)) / (now - recent[0][0])
        net = math.hypot(recent[-1][1] - recent[0][1], recent[-1][2] - recent[0][2])
        # grappling goes back and forth; two people passing each other move one way
        if motion < config.struggle_motion or path < _BACK_AND_FORTH * net:
            return None
        pair.emitted = True
        confidence = margin(motion, config.struggle_motion) * math.sqrt(
            (a.last.score + b.last.score) / 2
        )
        return self._cue(
            "cue.struggle",
            recent[0][0],
            now,
            confidence,
            union([a.last.box, b.last.box]),
            track_ids=[a.track_id, b.track_id],
            relative_motion_body_heights_per_s=round(motion, 2),
            mean_overlap=round(float(np.mean(pair.overlaps)), 3),
        )
