"""License-plate detection with the PP-OCRv6 text detector shipped in ``rapidocr`` (Apache-2.0).

No plate-specific detector ships with a permissive license (the YOLO plate models found on
PyPI are AGPL-3.0, see the research notes), so plates are found as what they are to a
camera: a short, single line of large glyphs. The DB text detector (differentiable
binarisation) gives a probability map of text; its regions are unclipped, pieces of one line
are merged (a police plate's red 警 comes out as its own region at low resolution), and a
line whose proportions fit a plate becomes a plate candidate. The plate box grows the text
line by the plate's margins, so redaction covers the whole plate, border included.

``PlateDetector.detect`` returns plate boxes and scores (what redaction needs);
``PlateDetector.lines`` also returns the tight text line that the recogniser reads. The
detector finds text, so it also returns shop signs or painted numbers with plate-like
proportions: the plates analyzer rejects those with its per-country grammars, and redaction
errs towards blurring them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from citywitness.analysis import modelzoo, runtime
from citywitness.analysis.contracts import Box

PPOCR_DET = modelzoo.add(
    modelzoo.ModelSpec(
        name="ppocr-v6-det-small",
        package="rapidocr",
        module="rapidocr",
        path="models/PP-OCRv6_det_small.onnx",
        sha256="090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
        license="Apache-2.0",
        task="text detection (license plates)",
    )
)

_BIN_THRESHOLD = 0.3  # DB probability map binarisation (PaddleOCR's default)
_UNCLIP = 1.6  # how far a shrunk DB region grows back to the glyph outline
_MIN_ASPECT, _MAX_ASPECT = 1.6, 11.0  # text-line width / height of a one-line plate
_MIN_HEIGHT_PX = 7  # text lines lower than this (in the frame) cannot be read
_MAX_HEIGHT_SHARE = 0.3  # ... nor can a "line" taller than this share of the frame be a plate

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels


@dataclass(frozen=True, slots=True)
class PlateLine:
    """A plate candidate: the plate's box, the tight text line inside it, and a score."""

    plate: Box
    text: Box
    score: float


def _merge_overlapping(rects: list[tuple[Rect, float]]) -> list[tuple[Rect, float]]:
    """Join regions that overlap: a character the detector split in two (鲁 as 鱼 over 日)."""
    pending = list(rects)
    merged: list[tuple[Rect, float]] = []
    while pending:
        (x0, y0, x1, y1), score = pending.pop()
        grown = True
        while grown:
            grown = False
            for i, ((a0, b0, a1, b1), other) in enumerate(pending):
                if a0 < x1 and x0 < a1 and b0 < y1 and y0 < b1:
                    x0, y0, x1, y1 = min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1)
                    score = max(score, other)
                    pending.pop(i)
                    grown = True
                    break
        merged.append(((x0, y0, x1, y1), score))
    return merged


def _merge_line(rects: list[tuple[Rect, float]]) -> list[tuple[Rect, float]]:
    """Join pieces of one text line: same height band, side by side, small gap.

    Pieces are not joined into a line longer than a plate can be: two plates side by side
    stay two lines.
    """
    pending = sorted(rects, key=lambda r: r[0][0])
    merged: list[tuple[Rect, float]] = []
    while pending:
        (x0, y0, x1, y1), score = pending.pop(0)
        changed = True
        while changed:
            changed = False
            for i, ((a0, b0, a1, b1), other) in enumerate(pending):
                h, oh = y1 - y0, b1 - b0
                overlap = min(y1, b1) - max(y0, b0)
                gap = a0 - x1 if a0 >= x1 else x0 - a1
                joined = max(x1, a1) - min(x0, a0)
                if (
                    overlap > 0.6 * min(h, oh)
                    and 0.6 < oh / max(h, 1e-6) < 1.7
                    and gap < 0.9 * max(h, oh)
                    and joined <= _MAX_ASPECT * max(y1, b1) - _MAX_ASPECT * min(y0, b0)
                ):
                    width, other_width = x1 - x0, a1 - a0
                    score = (score * width + other * other_width) / max(width + other_width, 1e-6)
                    x0, y0, x1, y1 = min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1)
                    pending.pop(i)
                    changed = True
                    break
        merged.append(((x0, y0, x1, y1), score))
    return merged


class PlateDetector:
    """Plates in RGB frames, as normalised boxes with a score (0..1).

    ``side`` is the longest side the frame is scaled to for the text detector (frames are
    scaled up to it as well, which helps small plates in 640x360 video); ``threshold`` the
    minimum mean text probability of a line.
    """

    def __init__(self, *, side: int = 768, threshold: float = 0.5) -> None:
        if not 0 < threshold < 1:
            raise ValueError("threshold must be between 0 and 1")
        if not 160 <= side <= 4096:
            raise ValueError("side must be between 160 and 4096")
        self.side = side
        self.threshold = threshold

    def _probabilities(self, image: NDArray[np.uint8]) -> tuple[NDArray[np.float32], float, float]:
        height, width = int(image.shape[0]), int(image.shape[1])
        ratio = self.side / max(width, height)
        w_in = max(32, round(width * ratio / 32) * 32)
        h_in = max(32, round(height * ratio / 32) * 32)
        resized = cv2.resize(image, (w_in, h_in), interpolation=cv2.INTER_LINEAR)
        blob = (resized.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        session = runtime.session(PPOCR_DET)
        (pred,) = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(blob)})
        return np.asarray(pred[0, 0], dtype=np.float32), width / w_in, height / h_in

    def _regions(self, image: NDArray[np.uint8]) -> list[tuple[Rect, float]]:
        """Unclipped text regions in frame pixels, with their mean probability."""
        prob, sx, sy = self._probabilities(image)
        mask = cv2.dilate((prob > _BIN_THRESHOLD).astype(np.uint8), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        regions: list[tuple[Rect, float]] = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if min(w, h) < 3:
                continue
            score = float(prob[y : y + h, x : x + w][mask[y : y + h, x : x + w] > 0].mean())
            grow = w * h * _UNCLIP / (2 * (w + h))
            rect = ((x - grow) * sx, (y - grow) * sy, (x + w + grow) * sx, (y + h + grow) * sy)
            regions.append((rect, score))
        return regions

    def lines(self, image: NDArray[np.uint8]) -> list[PlateLine]:
        """Plate candidates in an RGB (height, width, 3) uint8 frame, best score first."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError("expected an RGB uint8 image of shape (height, width, 3)")
        height, width = int(image.shape[0]), int(image.shape[1])
        found: list[PlateLine] = []
        for (x0, y0, x1, y1), score in _merge_line(_merge_overlapping(self._regions(image))):
            h = y1 - y0
            if score < self.threshold or h < _MIN_HEIGHT_PX or h > _MAX_HEIGHT_SHARE * height:
                continue
            if not _MIN_ASPECT <= (x1 - x0) / h <= _MAX_ASPECT:
                continue
            plate = (x0 - 0.3 * h, y0 - 0.15 * h, x1 + 0.3 * h, y1 + 0.15 * h)
            found.append(
                PlateLine(
                    plate=Box.from_pixels(plate, width, height),
                    text=Box.from_pixels((x0, y0, x1, y1), width, height),
                    score=min(1.0, score),
                )
            )
        return sorted(found, key=lambda line: -line.score)

    def detect(self, image: NDArray[np.uint8]) -> list[tuple[Box, float]]:
        """Plate boxes (normalised) and scores in an RGB frame, best score first."""
        return [(line.plate, line.score) for line in self.lines(image)]
