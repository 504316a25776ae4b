"""Plate reading: accuracy on generated plates, and speed against rapidocr's own pipeline.

1. Accuracy: ``--plates`` scenes (default 216, 24 of each of the 9 styles) from
   ``plate_synth`` at 640x360 (plate 22-35 % of the frame width, rotated within ±4°,
   blurred 0-1.2 px, noise sigma 0-10): exact-match rate of the normalised text per style
   and overall (the goal: at least 95 %), colour-class accuracy, and wrong reads (a plate
   read that is not the plate in the scene).
2. Speed: frames per second of ``PlatesAnalyzer.read_frame`` (detect, read, grammar,
   colour) at 640x360 and 1280x720, against the baseline measured on the same frames in
   the same run: rapidocr 3.10's full pipeline (``RapidOCR()``: PP-OCRv6 detection, angle
   classifier, recognition of every text box). The baseline's exact-match count (its texts
   through the same grammars) is printed beside it.
3. Watch-list lookups per second against a list of 100,000 plates.

    .venv/bin/python bench/bench_plates.py            # full (a few minutes on 2 cores)
    .venv/bin/python bench/bench_plates.py --short    # 54 plates, 6 frames per size
"""

from __future__ import annotations

import argparse
import collections
import random
import statistics
import time

import numpy as np
from rapidocr import RapidOCR

from citywitness.analysis import plate_synth
from citywitness.analysis.media_source import Frame
from citywitness.analysis.plate_grammar import parse
from citywitness.analysis.plate_watchlist import PlateWatchlist, WatchEntry
from citywitness.analysis.plates import PlatesAnalyzer, PlatesConfig


def accuracy(analyzer: PlatesAnalyzer, count: int) -> None:
    items = plate_synth.generate_set(count, seed=2026)
    right: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    colours = wrong = 0
    for plate, image, _ in items:
        total[plate.style] += 1
        reads = analyzer.read_frame(Frame(0.0, image, 0))
        match = [s for s in reads if s.plate.text == plate.text]
        wrong += len(reads) - len(match)
        if match:
            right[plate.style] += 1
            colours += match[0].colour == plate.colour
    print(f"accuracy on {count} generated plates (640x360):")
    for style in plate_synth.STYLES:
        print(
            f"  {style:10s} {right[style]:3d}/{total[style]:3d}  {right[style] / total[style]:.1%}"
        )
    hits = sum(right.values())
    print(f"  overall    {hits}/{count}  exact {hits / count:.1%}  (goal >= 95%)")
    print(f"  colour class right on {colours}/{hits} read plates; wrong reads {wrong}")


def _frames(size: tuple[int, int], count: int) -> list[tuple[str, np.ndarray]]:
    rng = random.Random(size[0])  # noqa: S311 - reproducible bench data
    frames = []
    for i in range(count):
        plate = plate_synth.random_plate(rng, plate_synth.STYLES[i % len(plate_synth.STYLES)])
        image, _ = plate_synth.scene(plate, rng, size=size)
        frames.append((plate.text, image))
    return frames


def speed(analyzer: PlatesAnalyzer, engine: RapidOCR, count: int) -> None:
    print(f"speed ({count} frames per size; median per frame):")
    for size in ((640, 360), (1280, 720)):
        frames = _frames(size, count)
        analyzer.read_frame(Frame(0.0, frames[0][1], 0))  # warm up both
        engine(np.ascontiguousarray(frames[0][1][:, :, ::-1]))
        ours, theirs, ours_ok, theirs_ok = [], [], 0, 0
        for text, image in frames:
            start = time.perf_counter()
            reads = analyzer.read_frame(Frame(0.0, image, 0))
            ours.append(time.perf_counter() - start)
            ours_ok += any(s.plate.text == text for s in reads)
            start = time.perf_counter()
            result = engine(np.ascontiguousarray(image[:, :, ::-1]))
            theirs.append(time.perf_counter() - start)
            parsed = [parse(t) for t in (result.txts or ())]
            theirs_ok += any(p is not None and p.text == text for p in parsed)
        mine, base = statistics.median(ours), statistics.median(theirs)
        print(
            f"  {size[0]}x{size[1]}: ours {1 / mine:5.2f} frames/s ({mine * 1000:.0f} ms,"
            f" {ours_ok}/{count} exact) | rapidocr full pipeline {1 / base:5.2f} frames/s"
            f" ({base * 1000:.0f} ms, {theirs_ok}/{count} exact) | ratio {base / mine:.2f}x"
        )


def lookups() -> None:
    rng = random.Random(1)  # noqa: S311 - reproducible bench data
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    plates = ["".join(rng.choice(alphabet) for _ in range(7)) for _ in range(100_000)]
    watch = PlateWatchlist(
        WatchEntry(str(i), "stolen", "stolen", plate, "") for i, plate in enumerate(plates)
    )
    reads = [rng.choice(plates) if i % 2 else "ZZ99ZZZ" for i in range(20_000)]
    start = time.perf_counter()
    hits = sum(watch.match(read) is not None for read in reads)
    elapsed = time.perf_counter() - start
    print(f"watch list of 100,000 plates: {len(reads) / elapsed:,.0f} lookups/s ({hits} hits)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="54 plates, 6 frames per size")
    parser.add_argument("--plates", type=int, default=216)
    parser.add_argument("--frames", type=int, default=18)
    args = parser.parse_args()
    plates, frames = (54, 6) if args.short else (args.plates, args.frames)
    analyzer = PlatesAnalyzer(PlatesConfig())
    engine = RapidOCR(params={"Global.log_level": "warning"})
    accuracy(analyzer, plates)
    speed(analyzer, engine, frames)
    lookups()


if __name__ == "__main__":
    main()
