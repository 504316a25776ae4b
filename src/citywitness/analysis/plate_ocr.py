"""Reading a plate crop: PP-OCRv6 text recognition (``rapidocr``, Apache-2.0) and plate colour.

The recogniser is a CTC model over 18,708 characters (Chinese and Latin): a 48-pixel-high
crop goes in, one class per column comes out; repeated classes and blanks collapse into the
text. The character table is stored inside the ONNX file's metadata, so the hash-verified
model file is all we need. The colour of a plate is the dominant hue of its background (the
pixels farther from the glyph colour), classified into the colours plates come in.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
from numpy.typing import NDArray

from citywitness.analysis import modelzoo, runtime

PPOCR_REC = modelzoo.add(
    modelzoo.ModelSpec(
        name="ppocr-v6-rec-small",
        package="rapidocr",
        module="rapidocr",
        path="models/PP-OCRv6_rec_small.onnx",
        sha256="6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
        license="Apache-2.0",
        task="text recognition (license plates)",
    )
)

_REC_HEIGHT = 48
_MAX_REC_WIDTH = 640


@functools.lru_cache(maxsize=2)
def _characters(path: str) -> tuple[str, ...]:
    """The CTC classes of the model at ``path`` (the key that caches them)."""
    del path
    session = runtime.session(PPOCR_REC)
    table = session.get_modelmeta().custom_metadata_map["character"].splitlines()
    return ("", *table, " ")  # CTC blank first, space last (as PaddleOCR trains it)


def read_text(crop: NDArray[np.uint8]) -> tuple[str, float]:
    """The text on an RGB crop of one text line and its mean character confidence."""
    if crop.ndim != 3 or crop.shape[0] < 4 or crop.shape[1] < 4:
        return "", 0.0
    h, w = int(crop.shape[0]), int(crop.shape[1])
    width = min(_MAX_REC_WIDTH, max(16, int(np.ceil(_REC_HEIGHT * w / h))))
    resized = cv2.resize(crop, (width, _REC_HEIGHT), interpolation=cv2.INTER_CUBIC)
    blob = (resized.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
    session = runtime.session(PPOCR_REC)
    (probs,) = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(blob)})
    table = _characters(str(modelzoo.resolve(PPOCR_REC)))
    classes = probs[0].argmax(axis=1)
    scores = probs[0].max(axis=1)
    chars: list[str] = []
    confidences: list[float] = []
    previous = 0
    for cls, score in zip(classes.tolist(), scores.tolist(), strict=True):
        if cls not in (0, previous) and cls < len(table):
            chars.append(table[cls])
            confidences.append(float(score))
        previous = cls
    if not chars:
        return "", 0.0
    return "".join(chars).strip(), float(np.mean(confidences))


def _hue_name(hue: float) -> str:
    if 95 <= hue <= 130:
        return "blue"
    if 15 <= hue <= 35:
        return "yellow"
    if 36 <= hue <= 90:
        return "green"
    return "other"


def plate_colour(crop: NDArray[np.uint8]) -> str:
    """blue, yellow, green, white, black or other: the background of a text-line crop.

    Otsu's threshold splits the core of the crop (no plate edge) into bright and dark pixels;
    the larger side is the background (glyph strokes cover less of a line than the plate
    does). A saturated, not dark background is blue, yellow or green by hue; an unsaturated
    bright one is white, a dark one black.
    """
    if crop.ndim != 3 or crop.shape[0] < 6 or crop.shape[1] < 6:
        return "other"
    h, w = int(crop.shape[0]), int(crop.shape[1])  # the core: no plate edge, no vehicle
    crop = np.ascontiguousarray(crop[h // 5 : h - h // 5, w // 20 : w - w // 20])
    hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.float32)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    threshold, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = grey.reshape(-1) > threshold
    sides = sorted((hsv[bright], hsv[~bright]), key=len, reverse=True)
    background = sides[0]  # glyphs are the minority of a text line's core
    hue, sat, val = (float(np.median(background[:, i])) for i in range(3))
    if sat >= 45 and val >= 100:
        return _hue_name(hue)
    if val >= 140:
        return "white"
    return "black" if val < 80 else "other"
