"""The centroid tracker on hand-made boxes."""

from __future__ import annotations

import pytest

from citywitness.analysis.contracts import Box
from citywitness.analysis.tracking import Tracker, iou


def test_iou() -> None:
    assert iou(Box(0, 0, 0.2, 0.2), Box(0, 0, 0.2, 0.2)) == 1.0
    assert iou(Box(0, 0, 0.2, 0.2), Box(0.1, 0, 0.2, 0.2)) == pytest.approx(1 / 3)
    assert iou(Box(0, 0, 0.1, 0.1), Box(0.5, 0.5, 0.1, 0.1)) == 0.0


def test_fast_mover_keeps_its_identity_without_overlap() -> None:
    tracker = Tracker(aspect=1.0)
    still, runner = Box(0.8, 0.5, 0.05, 0.2), Box(0.0, 0.5, 0.05, 0.2)
    for step in range(5):
        moved = Box(runner.x + 0.1 * step, runner.y, runner.w, runner.h)
        seen = tracker.update(step * 0.25, [(moved, 0.9), (still, 0.9)])
        assert [t.track_id for t in seen] == [1, 2]
    tracks = list(tracker.tracks())
    assert [len(t.history) for t in tracks] == [5, 5]
    assert tracks[0].history[-1].box.x == 0.4  # the runner moved 0.1 (half its height) a step


def test_a_jump_too_far_starts_a_new_track() -> None:
    tracker = Tracker(aspect=1.0, max_speed=4.0)
    tracker.update(0.0, [(Box(0.0, 0.5, 0.05, 0.1), 0.9)])
    seen = tracker.update(0.25, [(Box(0.8, 0.5, 0.05, 0.1), 0.9)])
    assert [t.track_id for t in seen] == [2]


def test_a_fall_keeps_the_track_and_old_tracks_expire() -> None:
    tracker = Tracker(aspect=1.0, max_age_s=1.0)
    tracker.update(0.0, [(Box(0.4, 0.3, 0.1, 0.3), 0.9)])
    (fallen,) = tracker.update(0.5, [(Box(0.35, 0.5, 0.3, 0.1), 0.6)])
    assert fallen.track_id == 1
    tracker.update(2.0, [])
    assert tracker.active == []
    assert [t.track_id for t in tracker.closed] == [1]
