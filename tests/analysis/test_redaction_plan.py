"""Redaction plans: tracks carry boxes between detections, padding, linking, the digest."""

from __future__ import annotations

import numpy as np
import pytest

from citywitness.analysis.contracts import Box
from citywitness.analysis.redaction import (
    Keyframe,
    Linker,
    Plan,
    Track,
    merge_ranges,
    padded,
    parse_range,
)
from citywitness.analysis.redaction_render import cover


def _track(*frames: tuple[float, Box], start: float = 0.0, end: float = 10.0) -> Track:
    return Track("t", "face", start, end, [Keyframe(t, b) for t, b in frames])


A = Box(0.1, 0.1, 0.2, 0.2)
B = Box(0.5, 0.2, 0.2, 0.2)


def test_track_covers_the_union_between_keyframes_and_holds_at_the_ends() -> None:
    track = _track((1.0, A), (2.0, B), start=0.5, end=2.5)
    assert track.box_at(0.4) is None
    assert track.box_at(0.5) == A
    between = track.box_at(1.5)
    assert between is not None
    assert (between.x, between.y, between.w, between.h) == pytest.approx((0.1, 0.1, 0.6, 0.3))
    assert track.box_at(2.5) == B
    assert track.box_at(2.51) is None


def test_padding_grows_the_box_and_clips_to_the_frame() -> None:
    grown = padded(Box(0.0, 0.4, 0.2, 0.2), 0.25)
    assert (grown.x, grown.y, grown.w, grown.h) == pytest.approx((0.0, 0.35, 0.25, 0.3))


def test_linker_joins_overlapping_boxes_and_splits_far_ones() -> None:
    linker = Linker("face", interval_s=0.1)
    linker.add(0, 0.0, [A])
    linker.add(1, 0.1, [Box(0.12, 0.1, 0.2, 0.2), B])
    for sample in range(2, 7):
        linker.add(sample, sample / 10, [])
    tracks = linker.tracks()
    assert [(t.id, len(t.keyframes)) for t in tracks] == [("face-1", 2), ("face-2", 1)]
    assert (tracks[0].start_s, tracks[0].end_s) == (0.0, pytest.approx(0.2))
    assert (tracks[1].start_s, tracks[1].end_s) == (0.0, pytest.approx(0.2))


def test_plan_digest_is_stable_and_changes_with_the_plan() -> None:
    plan = Plan((_track((1.0, A)),), mute=((1.0, 2.0),))
    same = Plan((_track((1.0, A)),), mute=((1.0, 2.0),))
    assert plan.digest() == same.digest()
    assert len(plan.digest()) == 64
    assert Plan((_track((1.0, A)),), mute=((1.0, 2.5),)).digest() != plan.digest()
    assert Plan((_track((1.0, A)),), mode="solid").digest() != Plan((_track((1.0, A)),)).digest()


def test_ranges_parse_and_merge() -> None:
    assert parse_range("1.5-3") == (1.5, 3.0)
    for bad in ("3-1", "2", "a-b", "-1-2"):
        with pytest.raises(ValueError):
            parse_range(bad)
    assert merge_ranges([(5, 6), (1, 2), (1.5, 3)]) == ((1, 3), (5, 6))


def test_cover_blurs_or_fills_only_inside_the_box() -> None:
    rng = np.random.default_rng(7)
    image = rng.integers(0, 255, (100, 200, 3), dtype=np.uint8)
    original = image.copy()
    assert cover(image, [Box(0.1, 0.2, 0.25, 0.5), Box(0.9, 0.9, 0.0, 0.0)], "solid") == 1
    assert int(image[20:70, 20:70].max()) == 0
    assert np.array_equal(image[:, 70:], original[:, 70:])
    assert np.array_equal(image[:20], original[:20])
    blurred = original.copy()
    assert cover(blurred, [Box(0.5, 0.0, 0.5, 1.0)], "blur") == 1
    assert np.array_equal(blurred[:, :100], original[:, :100])
    assert float(blurred[:, 100:].std()) < float(original[:, 100:].std()) / 4
