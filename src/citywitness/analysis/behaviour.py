"""The ``behaviour`` analyzer: persons, and cues read from their boxes and poses over time and
from audio.

Persons are found by YOLOv8n (``person_detect``) and followed across sampled frames
(``tracking``). When the pose model was exported at install (``pose_detect``, ``pose``
on), each track also gets a torso angle from its shoulder and hip keypoints. No shipped action
model exists, so every cue is a heuristic:

* ``cue.fall``: within ``fall_window_s`` a tracked person goes from standing to lying and the
  top of its box drops by at least ``fall_min_drop`` of the standing height. Standing and
  lying are read from the torso angle (at most ``upright_torso_angle``, at least
  ``fall_torso_angle`` degrees from vertical) whenever the shoulders and hips are seen with
  ``pose_min_keypoint`` confidence, else from the box's shape (tall, then wide); the finding's
  ``method`` attribute says which (``pose`` or ``box``);
* ``cue.running``: a track's centre moves at ``running_speed`` body heights per second or
  faster over at least ``running_min_span_s``;
* ``cue.crowd``: ``crowd_min_persons`` or more persons in view for ``crowd_min_duration_s``;
* ``cue.struggle``: two tracks touching (box edges ``struggle_max_gap`` apart at most) for
  ``struggle_min_duration_s`` while their relative position changes at ``struggle_motion``
  body heights per second or faster;
* ``cue.shouting``: loud speech in the audio track (``audio_cues``).

Distances are measured in the frame, so a panning body-worn camera moves everyone: the
running and struggle measures subtract the whole frame's shift (phase correlation on the
background, persons masked out) before comparing. Fall, struggle and shouting at
``alert_min_confidence`` or above carry an alert hint. ``person`` findings are emitted only
when the number of persons in view changes, not on every frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

from pydantic import Field

from citywitness.analysis import audio_cues, pose_detect
from citywitness.analysis.behaviour_cues import CueState, person_findings
from citywitness.analysis.contracts import AnalyzerConfig, Finding, register
from citywitness.analysis.media_source import Frame, MediaSource
from citywitness.analysis.modelzoo import ModelSpec
from citywitness.analysis.person_detect import YOLOV8N_COCO, PersonDetector
from citywitness.analysis.pose_detect import YOLO11N_POSE, PoseDetector
from citywitness.analysis.speech import SILERO_VAD
from citywitness.analysis.tracking import Track, Tracker


class BehaviourConfig(AnalyzerConfig):
    """Person detection and behaviour cues; thresholds are documented in docs/analysis."""

    kind: Literal["behaviour"] = "behaviour"
    sample_fps: float = Field(
        default=4.0, gt=0, le=60, description="Frames analysed per second (cues need 3 or more)."
    )
    max_side: int = Field(
        default=640, ge=160, le=4096, description="Frames are scaled to this side (model: 640)."
    )
    min_confidence: float = Field(default=0.35, ge=0.05, le=0.95, description="Person score.")
    alert_min_confidence: float = Field(
        default=0.6, ge=0, le=1, description="Fall, struggle, shouting at or above: an alert."
    )
    pose: bool = Field(
        default=True,
        description="Read falls from the torso angle when the pose model is installed.",
    )
    upright_torso_angle: float = Field(
        default=30.0, ge=0, le=90, description="Standing: torso within this many degrees of up."
    )
    fall_torso_angle: float = Field(
        default=60.0, ge=0, le=180, description="Lying: torso this many degrees from up or more."
    )
    pose_min_keypoint: float = Field(
        default=0.5, ge=0.05, le=0.99, description="Shoulder and hip keypoint confidence needed."
    )
    fall_tall_ratio: float = Field(default=1.3, gt=0, description="Standing: box height/width.")
    fall_wide_ratio: float = Field(default=0.9, gt=0, description="Lying: box height/width.")
    fall_window_s: float = Field(default=2.0, gt=0, le=10, description="Tall to wide within.")
    fall_min_drop: float = Field(
        default=0.3, ge=0, le=1, description="Box top drops by this share of standing height."
    )
    running_speed: float = Field(
        default=1.5, gt=0, le=20, description="Body heights per second (walking is about 0.8)."
    )
    running_min_span_s: float = Field(default=0.75, gt=0, le=10)
    crowd_min_persons: int = Field(default=5, ge=2, le=500)
    crowd_min_duration_s: float = Field(default=2.0, ge=0, le=600)
    struggle_max_gap: float = Field(
        default=0.25, ge=0, le=2, description="Boxes touch or are this close, in body heights."
    )
    struggle_motion: float = Field(
        default=0.6, gt=0, le=20, description="Relative motion, body heights per second."
    )
    struggle_min_duration_s: float = Field(default=1.5, gt=0, le=60)
    compensate_camera: bool = Field(
        default=True, description="Subtract the frame's own shift (a panning body camera)."
    )
    audio: audio_cues.AudioCueConfig = Field(default_factory=audio_cues.AudioCueConfig)


@register("behaviour", BehaviourConfig)
class BehaviourAnalyzer:
    """Persons and behaviour cues in video (and shouting in its audio track)."""

    kind: ClassVar[str] = "behaviour"

    def __init__(self, config: BehaviourConfig, *, watchlist: object | None = None) -> None:
        del watchlist  # behaviour cues match against no watch list
        self.config = config
        self.detector = PersonDetector(threshold=config.min_confidence)
        self.poser = (
            PoseDetector(threshold=config.min_confidence)
            if config.pose and pose_detect.available()
            else None
        )

    def models(self) -> list[ModelSpec]:
        specs = [YOLOV8N_COCO]
        if self.poser is not None:
            specs.append(YOLO11N_POSE)
        if self.config.audio.enabled and self.config.audio.use_vad:
            specs.append(SILERO_VAD)
        return specs

    def analyze(self, source: MediaSource) -> Iterator[Finding]:
        """Persons and cues in ``source``, in time order."""
        findings = list(self._video(source))
        if self.config.audio.enabled:
            samples = source.audio()
            findings += audio_cues.shouting(
                samples,
                self.config.audio,
                base_offset_s=source.base_offset_s,
                alert_min_confidence=self.config.alert_min_confidence,
            )
        findings.sort(key=lambda f: (f.offset_s, f.label))
        yield from findings

    def _video(self, source: MediaSource) -> Iterator[Finding]:
        config = self.config
        tracker: Tracker | None = None
        state: CueState | None = None
        last_count = 0
        for frame in source.frames(
            sample_fps=config.sample_fps, max_side=config.max_side, motion_gate=config.motion_gate
        ):
            detections = self.detector.detect(frame.image)
            if tracker is None or state is None:
                tracker = Tracker(aspect=frame.width / frame.height)
                state = CueState(config, aspect=frame.width / frame.height)
            seen = tracker.update(frame.offset_s, [(d.box, d.score) for d in detections])
            if len(seen) != last_count:
                yield from person_findings(frame.offset_s, seen)
                last_count = len(seen)
            yield from state.observe(frame, seen, self._angles(frame, seen))

    def _angles(self, frame: Frame, seen: list[Track]) -> dict[int, float]:
        """Torso angle per track id in this frame, for the tracks whose pose is clear."""
        if self.poser is None:
            return {}
        poses = pose_detect.match([t.last.box for t in seen], self.poser.detect(frame.image))
        aspect = frame.width / frame.height
        angles: dict[int, float] = {}
        for track, pose in zip(seen, poses, strict=True):
            if pose is not None:
                angle = pose_detect.torso_angle(pose, aspect, self.config.pose_min_keypoint)
                if angle is not None:
                    angles[track.track_id] = angle
        return angles
