"""The behaviour analyzer on generated clips: real people moved over a background."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from citywitness.analysis import contracts, pose_detect
from citywitness.analysis.behaviour import BehaviourAnalyzer, BehaviourConfig
from citywitness.analysis.contracts import Finding
from citywitness.analysis.media_source import MediaSource
from tests.analysis import behaviour_media as media

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("behaviour")
    scenes = {
        "calm": media.calm,
        "running": media.running,
        "fall": media.fall,
        "crowd": media.crowd,
        "struggle": media.struggle,
    }
    return {
        name: media.write_clip(folder / f"{name}.mp4", scene, 5.0) for name, scene in scenes.items()
    }


def _run(path: Path, **overrides: object) -> list[Finding]:
    # boxes only: the cues' box rules (pose is tested, on the fall clip, in test_pose.py)
    config = BehaviourConfig.model_validate(
        {"audio": {"enabled": False}, "pose": False, **overrides}
    )
    return list(BehaviourAnalyzer(config).analyze(MediaSource(path)))


def _cues(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.label.startswith("cue.")]


def test_calm_scene_has_people_and_no_cue(clips: dict[str, Path]) -> None:
    findings = _run(clips["calm"])
    assert _cues(findings) == []
    people = [f for f in findings if f.label == "person"]
    # emitted once, when the count changed from 0 to 2; never on the frames after
    assert [(f.offset_s, f.attributes["persons"]) for f in people] == [(0.0, 2), (0.0, 2)]
    assert all(f.box is not None and f.confidence > 0.8 for f in people)
    assert [f.offset_s for f in findings] == sorted(f.offset_s for f in findings)


def test_running_person(clips: dict[str, Path]) -> None:
    (cue,) = _cues(_run(clips["running"]))
    assert cue.label == "cue.running"
    assert 0.5 <= cue.offset_s <= 1.6  # starts running at 1.0 s
    assert cue.attributes["speed_body_heights_per_s"] >= 1.5
    assert cue.alert is None
    assert cue.box is not None and cue.model.name == "yolov8n-coco"


def test_running_threshold_is_configurable(clips: dict[str, Path]) -> None:
    assert _cues(_run(clips["running"], running_speed=6.0)) == []


def test_fall_raises_an_alert(clips: dict[str, Path]) -> None:
    (cue,) = _cues(_run(clips["fall"]))
    assert cue.label == "cue.fall"
    assert 1.7 <= cue.offset_s <= 2.6  # the fall runs from 2.0 to 2.5 s
    assert cue.attributes["height_width_before"] >= 1.3
    assert cue.attributes["height_width_after"] <= 0.9
    assert cue.attributes["drop_body_heights"] >= 0.3
    assert cue.alert is not None
    assert (cue.alert.kind, cue.alert.severity) == ("behaviour_cue", "high")
    assert cue.confidence >= 0.6
    assert cue.attributes["method"] == "box" and cue.model.name == "yolov8n-coco"


def test_crowd_forming(clips: dict[str, Path]) -> None:
    (cue,) = _cues(_run(clips["crowd"]))
    assert cue.label == "cue.crowd"
    assert 2.2 <= cue.offset_s <= 2.7  # the fifth person arrives at 2.4 s
    assert cue.attributes["persons"] == 5
    assert cue.alert is None
    assert _cues(_run(clips["crowd"], crowd_min_persons=6)) == []


def test_struggle(clips: dict[str, Path]) -> None:
    (cue,) = _cues(_run(clips["struggle"]))
    assert cue.label == "cue.struggle"
    assert 1.0 <= cue.offset_s <= 2.5  # the grappling starts at 1.5 s
    assert sorted(cue.attributes["track_ids"]) == [1, 2]
    assert cue.attributes["relative_motion_body_heights_per_s"] >= 0.6


def test_registered_and_validated() -> None:
    config = contracts.parse_config({"kind": "behaviour", "crowd_min_persons": 8})
    assert isinstance(config, BehaviourConfig)
    assert config.crowd_min_persons == 8 and config.sample_fps == 4.0
    analyzer = contracts.build(config)
    pose = ["yolo11n-pose"] if pose_detect.available() else []  # exported by make install
    assert [m.name for m in analyzer.models()] == ["yolov8n-coco", *pose, "silero-vad"]
    assert config.pose and config.fall_torso_angle == 60.0 and config.upright_torso_angle == 30.0
    with pytest.raises(ValidationError):
        contracts.parse_config({"kind": "behaviour", "crowd_min_persons": 1})
    with pytest.raises(ValidationError):
        contracts.parse_config({"kind": "behaviour", "audio": {"margin": 3}})
    with pytest.raises(ValidationError):
        contracts.parse_config({"kind": "behaviour", "fall_torso_angle": 200})
