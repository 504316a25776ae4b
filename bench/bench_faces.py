"""Faces: speed at 640x360 and 1280x720 against dlib's HOG detector, and match rates on
real photos, measured in the same run.

1. Speed: frames are composed from the real photos of the face_recognition 1.3.0 sdist
   (three faces of different sizes per frame on a plain background, ``--frames`` frames
   per size). Timed per frame: CenterFace alone (our detector), CenterFace + 5-point
   alignment + 128-d embedding of every face (the faces analyzer without the watch list),
   and the baseline, dlib's HOG frontal-face detector (upsample 0, and 1 which finds
   smaller faces), on the same frames. Printed: frames/s, faces found per frame, and the
   ratio detector fps / HOG fps.
2. Accuracy: every pair of the sdist photos (obama x3, biden, and two crops of obama.jpg):
   Euclidean distances, the match rate of same-person pairs and the non-match rate of
   different-person pairs at the threshold, and the margins. Twice: both sides embedded
   as frames are (1 jitter), and enrolled photos (5 jitters, as the watch list enrols)
   against frames.

Usage: ``.venv/bin/python bench/bench_faces.py [--frames 20] [--short]``
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import statistics
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import dlib
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from citywitness.analysis.face_detect import FaceDetector
from citywitness.analysis.face_embed import FaceEmbedder, distance
from citywitness.analysis.face_watchlist import DEFAULT_THRESHOLD

SDIST = Path(__file__).parents[1] / ".cache/testdata/face_recognition-1.3.0.tar.gz"
PHOTOS = {
    "obama.jpg": "obama",
    "obama2.jpg": "obama",
    "obama3.jpg": "obama",
    "obama_partial_face.jpg": "obama",
    "obama_partial_face2.jpg": "obama",
    "biden.jpg": "biden",
}
Image8 = NDArray[np.uint8]


def load_photos() -> dict[str, Image8]:
    out = {}
    with tarfile.open(SDIST) as tar:
        for name in PHOTOS:
            member = tar.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
            assert member is not None
            out[name] = np.asarray(Image.open(io.BytesIO(member.read())).convert("RGB"))
    return out


def face_crop(image: Image8, detector: FaceDetector, pad: float = 0.6) -> Image.Image:
    """The photo cut around its face (with some head and shoulders)."""
    (face,) = detector.detect(image)
    x0, y0, x1, y1 = face.box.to_pixels(image.shape[1], image.shape[0])
    dx, dy = int((x1 - x0) * pad), int((y1 - y0) * pad)
    return Image.fromarray(image).crop((x0 - dx, y0 - dy, x1 + dx, y1 + dy))


def compose(size: tuple[int, int], crops: list[Image.Image], seed: int) -> Image8:
    """A frame with three faces: about 45 %, 30 % and 20 % of the frame height."""
    width, height = size
    rng = np.random.default_rng(seed)
    frame = Image.new("RGB", size, tuple(int(v) for v in rng.integers(60, 200, 3)))
    for slot, (crop, share) in enumerate(zip(crops, (0.45, 0.3, 0.2), strict=True)):
        h = int(height * share * 2.2)  # the crop is about 2.2 face heights tall
        w = int(crop.width * h / crop.height)
        x = int(width * (0.05 + 0.32 * slot) + rng.integers(0, width // 20))
        y = int(rng.integers(0, max(1, height - h)))
        frame.paste(crop.resize((w, h)), (x, y))
    return np.asarray(frame)


def timed(work: Callable[[Image8], int], frames: list[Image8]) -> tuple[float, float]:
    """(frames per second, mean items found per frame)."""
    work(frames[0])  # warm-up (model load)
    found = []
    start = time.perf_counter()
    for frame in frames:
        found.append(work(frame))
    elapsed = time.perf_counter() - start
    return len(frames) / elapsed, statistics.fmean(found)


def speed(photos: dict[str, Image8], n_frames: int) -> None:
    detector, embedder = FaceDetector(), FaceEmbedder()
    hog = dlib.get_frontal_face_detector()
    crops = [face_crop(photos[n], detector) for n in ("obama.jpg", "biden.jpg", "obama3.jpg")]

    def detect(frame: Image8) -> int:
        return len(detector.detect(frame))

    def detect_embed(frame: Image8) -> int:
        faces = detector.detect(frame)
        for face in faces:
            embedder.embed(frame, face)
        return len(faces)

    def hog0(frame: Image8) -> int:
        return len(hog(frame, 0))

    def hog1(frame: Image8) -> int:
        return len(hog(frame, 1))

    print("speed (3 faces per frame)             frames/s  faces/frame")
    for size in ((640, 360), (1280, 720)):
        frames = [compose(size, crops, seed) for seed in range(n_frames)]
        rows = {
            "centerface": timed(detect, frames),
            "centerface+embed": timed(detect_embed, frames),
            "dlib HOG upsample 0 (baseline)": timed(hog0, frames),
            "dlib HOG upsample 1": timed(hog1, frames),
        }
        for name, (fps, found) in rows.items():
            print(f"  {size[0]}x{size[1]} {name:32s} {fps:8.1f}  {found:5.2f}")
        ratio = rows["centerface"][0] / rows["dlib HOG upsample 0 (baseline)"][0]
        print(f"  {size[0]}x{size[1]} ratio centerface / HOG-0 fps: {ratio:.2f}")


def embeddings(photos: dict[str, Image8], jitters: int) -> dict[str, NDArray[np.float32]]:
    detector, embedder = FaceDetector(), FaceEmbedder(jitters=jitters)
    out = {}
    for name, image in photos.items():
        (face,) = detector.detect(image)
        out[name] = embedder.embed(image, face)
    return out


def accuracy(photos: dict[str, Image8]) -> None:
    frames = embeddings(photos, jitters=1)
    enrolled = embeddings(photos, jitters=5)
    for title, left in (("frame vs frame", frames), ("enrolled vs frame", enrolled)):
        same: list[float] = []
        different: list[float] = []
        for a, b in itertools.combinations(PHOTOS, 2):
            d = distance(left[a], frames[b])
            (same if PHOTOS[a] == PHOTOS[b] else different).append(d)
        matched = sum(d <= DEFAULT_THRESHOLD for d in same)
        rejected = sum(d > DEFAULT_THRESHOLD for d in different)
        print(f"accuracy, {title} (threshold {DEFAULT_THRESHOLD}):")
        print(
            f"  same person     {len(same):2d} pairs, distance {min(same):.3f}-{max(same):.3f},"
            f" match rate {matched}/{len(same)} = {matched / len(same):.0%},"
            f" margin {DEFAULT_THRESHOLD - max(same):.3f}"
        )
        print(
            f"  different people {len(different):2d} pairs, distance"
            f" {min(different):.3f}-{max(different):.3f}, non-match rate"
            f" {rejected}/{len(different)} = {rejected / len(different):.0%},"
            f" margin {min(different) - DEFAULT_THRESHOLD:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="frames per size")
    parser.add_argument("--short", action="store_true", help="5 frames per size")
    args = parser.parse_args()
    photos = load_photos()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (speed is shared)")
    speed(photos, 5 if args.short else args.frames)
    accuracy(photos)


if __name__ == "__main__":
    main()
