"""Behaviour analysis speed: person detection and the full analyzer, frames per second.

A clip of real people (photos from the face_recognition sdist in .cache/testdata) walking
and running over a generated background is written at 640x360 and 1280x720 (H.264, 10 fps).
For each size the baseline, measured in the same run, is decoding and sampling the same
frames (``MediaSource.frames`` at 4 fps, the analyzer's default); then YOLOv8n person
detection on those frames; then YOLO11n-pose on the same frames (when the pose model was
exported at install); then the whole ``behaviour`` analyzer (detection, pose, tracking, the
cues and camera-motion estimate; audio off), and the analyzer with ``pose`` off. Prints
frames per second and the ratio to the decode-only baseline.

    .venv/bin/python bench/bench_behaviour.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.analysis import behaviour_media as media

from citywitness.analysis.behaviour import BehaviourAnalyzer, BehaviourConfig
from citywitness.analysis.media_source import MediaSource
from citywitness.analysis.person_detect import PersonDetector
from citywitness.analysis.pose_detect import PoseDetector, available


def scene(t: float) -> list[media.Sprite]:
    return [*media.calm(t), media.Sprite("obama3.jpg", 150, 40 + (450 * t) % 600, 345)]


def clip(folder: Path, width: int, height: int, seconds: float) -> Path:
    media.WIDTH, media.HEIGHT = width, height  # the generator draws at this size
    scale = height / 360

    def scaled(t: float) -> list[media.Sprite]:
        return [
            media.Sprite(s.name, round(s.height * scale), s.x * scale, s.y * scale)
            for s in scene(t)
        ]

    return media.write_clip(folder / f"bench_{width}.mp4", scaled, seconds)


def timed(label: str, frames: int, start: float, baseline: float | None) -> float:
    elapsed = time.perf_counter() - start
    fps = frames / elapsed
    ratio = "" if baseline is None else f"  ({baseline / fps:.1f}x the decode time per frame)"
    print(f"  {label:<22} {fps:7.1f} frames/s  {1000 / fps:6.1f} ms/frame{ratio}")
    return fps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    args = parser.parse_args()
    detector = PersonDetector()
    config = BehaviourConfig.model_validate({"audio": {"enabled": False}, "max_side": 1280})
    analyzer = BehaviourAnalyzer(config)
    boxes_only = BehaviourAnalyzer(config.model_copy(update={"pose": False}))
    poser = PoseDetector() if available() else None
    if poser is None:
        print("pose model not exported (requirements/export_pose.sh): pose rows skipped")
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in ((640, 360), (1280, 720)):
            path = clip(Path(tmp), width, height, args.seconds)
            source = MediaSource(path)
            print(f"{width}x{height}, {args.seconds:g} s clip, sampled at 4 fps:")
            start = time.perf_counter()
            images = [f.image for f in source.frames(sample_fps=4.0, max_side=1280)]
            base = timed("decode only (baseline)", len(images), start, None)
            detector.detect(images[0])  # load the model outside the timing
            start = time.perf_counter()
            persons = sum(len(detector.detect(image)) for image in images)
            timed("person detection", len(images), start, base)
            if poser is not None:
                poser.detect(images[0])
                start = time.perf_counter()
                poses = sum(len(poser.detect(image)) for image in images)
                timed(f"pose ({poses} poses)", len(images), start, base)
            start = time.perf_counter()
            findings = list(analyzer.analyze(source))
            timed("behaviour analyzer", len(images), start, base)
            start = time.perf_counter()
            list(boxes_only.analyze(source))
            timed("  the same, pose off", len(images), start, base)
            cues = sorted({f.label for f in findings if f.label.startswith("cue.")})
            print(f"  {len(images)} frames, {persons} person boxes, cues: {cues}")


if __name__ == "__main__":
    main()
