"""Redaction speed and quality against the `deface` command, on the same clip in the same run.

The clip is generated (tests/analysis/redaction_clip.py): 640x480 at 25 fps, two real faces
(photos from the face_recognition sdist) moving across the frame, a licence plate drawn with
Pillow, and a tone.  Three commands run on it, each as a subprocess (start-up and model
loading included, as an operator would see it):

1. baseline: `deface CLIP -o OUT --execution-provider CPUExecutionProvider` (CenterFace on
   every frame, ellipse blur, faces only);
2. `citywitness redact CLIP -o OUT --no-plates` (faces only, like deface);
3. `citywitness redact CLIP -o OUT` (faces and plates).

Each command runs `--rounds` times, interleaved, and its best time is kept.  Printed: wall
time and frames per second of each, our speed as a ratio of deface's, and
the faces still visible per frame in each output, as counted by an independent detector
(dlib's HOG frontal face detector, upsample 1, not CenterFace), beside the count in the
original.  The plate text is read by RapidOCR in the original and in each output.
`--short` makes a 2-second clip.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dlib
from rapidocr import RapidOCR

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.analysis.redaction_clip import PLATE_TEXT, decoded, make_clip

VENV_BIN = Path(sys.executable).parent


def _run(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started


def _faces_per_frame(path: Path) -> tuple[int, int, int]:
    """(frames, frames with a face, faces in all) by dlib HOG."""
    detector = dlib.get_frontal_face_detector()
    counts = [len(detector(frame, 1)) for frame in decoded(path)]
    return len(counts), sum(1 for c in counts if c), sum(counts)


def _plate_read(path: Path, ocr: RapidOCR, box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    frames = decoded(path)
    for frame in frames[:: max(1, len(frames) // 5)]:
        text = "".join(ocr(frame[y0 - 12 : y1 + 12, x0 - 12 : x1 + 12]).txts or ())
        if any(part in text for part in PLATE_TEXT.split()):
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="clip length")
    parser.add_argument("--short", action="store_true", help="a 2-second clip")
    parser.add_argument("--every", type=int, default=2, help="our detection interval (frames)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each command (best kept)")
    args = parser.parse_args()
    seconds = 2.0 if args.short else args.seconds
    ocr = RapidOCR()
    with tempfile.TemporaryDirectory(prefix="cw-bench-redaction-") as tmp:
        root = Path(tmp)
        clip = make_clip(root / "clip.mp4", seconds=seconds)
        redact = [str(VENV_BIN / "citywitness"), "redact", str(clip.path), "--json"]
        runs = {
            "deface (baseline)": [
                str(VENV_BIN / "deface"),
                str(clip.path),
                "-o",
                str(root / "deface.mp4"),
                "--execution-provider",
                "CPUExecutionProvider",
            ],
            "citywitness --no-plates": [
                *redact,
                "-o",
                str(root / "ours_faces.mp4"),
                "--no-plates",
                "--every",
                str(args.every),
            ],
            "citywitness (faces+plates)": [
                *redact,
                "-o",
                str(root / "ours_all.mp4"),
                "--every",
                str(args.every),
            ],
        }
        outputs = dict(zip(runs, ("deface.mp4", "ours_faces.mp4", "ours_all.mp4"), strict=True))
        print(f"clip: {clip.frames} frames, 640x480 @ 25 fps, {seconds:.1f} s")
        frames, with_face, faces = _faces_per_frame(clip.path)
        read = _plate_read(clip.path, ocr, clip.plate)
        print(
            f"original: dlib HOG finds {faces} faces in {with_face}/{frames} frames "
            f"({faces / frames:.2f} per frame); plate read: {read}"
        )
        times: dict[str, float] = {}
        for _ in range(args.rounds):  # interleaved, so a busy machine slows all alike
            for name, command in runs.items():
                times[name] = min(times.get(name, float("inf")), _run(command))
        for name in runs:
            n, hit, left = _faces_per_frame(root / outputs[name])
            read = _plate_read(root / outputs[name], ocr, clip.plate)
            print(
                f"{name:28s} {times[name]:7.2f} s  {clip.frames / times[name]:6.1f} fps  "
                f"faces left: {left} in {hit}/{n} frames ({left / max(n, 1):.3f} per frame)  "
                f"plate read: {read}"
            )
        base = times["deface (baseline)"]
        ratios = {name: round(base / t, 2) for name, t in times.items()}
        print("speed ratio vs deface (>1 is faster):", json.dumps(ratios))


if __name__ == "__main__":
    main()
