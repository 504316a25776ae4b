"""YOLOv8n person detection on real photos from the face_recognition sdist."""

from __future__ import annotations

import numpy as np
import pytest

from citywitness.analysis import modelzoo
from citywitness.analysis.person_detect import YOLOV8N_COCO, PersonDetector, letterbox, nms
from tests.analysis import behaviour_media as media

pytestmark = pytest.mark.models


def test_model_is_verified() -> None:
    assert modelzoo.verify(YOLOV8N_COCO).name == "yolov8n.onnx"
    assert YOLOV8N_COCO.license == "AGPL-3.0"


def test_one_person_in_each_portrait() -> None:
    detector = PersonDetector()
    image = np.asarray(media.photo("biden.jpg"))
    (person,) = detector.detect(image)
    assert person.label == "person" and person.score > 0.8
    assert person.box.h > 0.9 and person.box.w > 0.9  # the crop is the person's box


def test_standing_person_on_a_background_and_an_empty_scene() -> None:
    detector = PersonDetector(labels=("person", "car", "truck"))
    canvas = media.background()
    assert detector.detect(np.asarray(canvas)) == []
    media._paste(canvas, media.Sprite("obama3.jpg", 200, 320, 340))
    (person,) = detector.detect(np.asarray(canvas))
    x0, y0, x1, y1 = person.box.to_pixels(media.WIDTH, media.HEIGHT)
    assert abs((x0 + x1) / 2 - 320) <= 10 and abs(y1 - 340) <= 10 and abs((y1 - y0) - 200) <= 20


def test_letterbox_geometry() -> None:
    blob, placement = letterbox(np.zeros((360, 640, 3), dtype=np.uint8))
    assert blob.shape == (1, 3, 640, 640)
    assert (placement.scale, placement.pad_x, placement.pad_y) == (1.0, 0.0, 140.0)
    assert blob[0, 0, 0, 0] == pytest.approx(114 / 255)
    assert blob[0, 0, 140, 0] == 0.0


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.asarray([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=np.float32)
    scores = np.asarray([0.6, 0.9, 0.5], dtype=np.float32)
    assert nms(boxes, scores, 0.5) == [1, 2]
    assert nms(boxes, scores, 0.9) == [1, 0, 2]


def test_unknown_label_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown labels"):
        PersonDetector(labels=("person", "dragon"))
