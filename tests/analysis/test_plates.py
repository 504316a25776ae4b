"""The plates analyzer on real models: synthetic plates of every style, simulator video with
its recorded plate truth, and watch-list hits (no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from citywitness.analysis import plate_synth
from citywitness.analysis.contracts import AlertHint, Box, build, parse_config
from citywitness.analysis.media_source import Frame, MediaSource
from citywitness.analysis.plate_detect import PlateDetector
from citywitness.analysis.plate_watchlist import PlateWatchlist, WatchEntry
from citywitness.analysis.plates import PlatesAnalyzer, PlatesConfig
from citywitness.simulator.audio import AudioTrack
from citywitness.simulator.scene import SceneRenderer
from citywitness.simulator.video import LiveEncoder

pytestmark = pytest.mark.models

STARTED = datetime(2026, 11, 24, 9, tzinfo=UTC)


def _iou(box: Box, truth: tuple[int, int, int, int], size: tuple[int, int]) -> float:
    x, y, w, h = truth
    a0, b0, a1, b1 = box.to_pixels(*size)
    ix = max(0, min(a1, x + w) - max(a0, x))
    iy = max(0, min(b1, y + h) - max(b0, y))
    inter = ix * iy
    return inter / ((a1 - a0) * (b1 - b0) + w * h - inter)


@pytest.fixture(scope="module")
def synthetic() -> list[tuple[plate_synth.SynthPlate, np.ndarray, tuple[int, int, int, int]]]:
    return plate_synth.generate_set(12, seed=2026)


def test_the_test_set_covers_every_style(synthetic: list) -> None:  # type: ignore[type-arg]
    assert {plate.style for plate, _, _ in synthetic} == set(plate_synth.STYLES)


def test_every_synthetic_plate_is_found_read_and_classified(synthetic: list) -> None:  # type: ignore[type-arg]
    analyzer = PlatesAnalyzer(PlatesConfig())
    for plate, image, truth in synthetic:
        (sighting,) = analyzer.read_frame(Frame(0.0, image, 0))
        read = sighting.plate
        assert (read.text, read.display, read.country, read.format, sighting.colour) == (
            plate.text,
            plate.display,
            plate.country,
            plate.format,
            plate.colour,
        ), plate
        assert _iou(sighting.box, truth, (640, 360)) > 0.5, plate


def test_detector_boxes_cover_the_plates_and_nothing_on_an_empty_street() -> None:
    detector = PlateDetector()
    rng = random.Random(7)  # noqa: S311 - reproducible test media
    plate = plate_synth.random_plate(rng, "cn_blue")
    image, (x, y, w, h) = plate_synth.scene(plate, rng, angle=0, blur=0, noise=0)
    ((box, score),) = detector.detect(image)
    x0, y0, x1, y1 = box.to_pixels(640, 360)
    assert score > 0.5
    assert x0 <= x + 0.08 * w and x1 >= x + 0.92 * w  # covers the plate's characters
    assert y0 <= y + 0.2 * h and y1 >= y + 0.8 * h
    assert detector.detect(np.full((360, 640, 3), 128, dtype=np.uint8)) == []
    with pytest.raises(ValueError, match="RGB uint8"):
        detector.detect(np.zeros((10, 10), dtype=np.uint8))


def _simulated(seed: int, segments: int) -> tuple[bytes, dict[str, tuple[str, float, float]]]:
    encoder = LiveEncoder(SceneRenderer(seed=seed), AudioTrack(seed, unit=1), STARTED)
    parts = [encoder.next_segment() for _ in range(segments)]
    encoder.close()
    truth: dict[str, tuple[str, float, float]] = {}
    for part in parts:
        for p in part.plates:
            first, last = part.start_s + p.first_s, part.start_s + p.last_s
            known = truth.get(p.text)
            truth[p.text] = (p.kind, known[1] if known else first, last)
    return encoder.init_segment + b"".join(p.data for p in parts), truth


def test_simulator_video_plates_are_read_where_the_simulator_says_they_are() -> None:
    video, truth = _simulated(seed=8, segments=6)
    assert {text: kind for text, (kind, _, _) in truth.items()} == {
        "4LGP222": "us",
        "8MTF447": "us",
    }
    config = parse_config({"kind": "plates", "sample_fps": 1})
    findings = list(build(config).analyze(MediaSource(video)))
    assert [f.attributes["text"] for f in findings] == ["4LGP222", "8MTF447"]
    for finding in findings:
        _, first, last = truth[finding.attributes["text"]]
        assert first - 0.05 <= finding.offset_s <= first + 1.05  # the next sampled frame
        assert finding.offset_s + (finding.duration_s or 0) <= last + 0.05
        assert (finding.analyzer, finding.label, finding.attributes["country"]) == (
            "plates",
            "plate",
            "US",
        )
        assert finding.model.name == "ppocr-v6-rec-small"
        assert finding.alert is None and "watchlist" not in finding.attributes


def test_a_watch_listed_plate_raises_an_alert_hint(tmp_path: Path) -> None:
    rng = random.Random(11)  # noqa: S311 - reproducible test media
    plate = plate_synth.random_plate(rng, "cn_yellow")
    image, _ = plate_synth.scene(plate, rng)
    path = tmp_path / "still.png"
    Image.fromarray(image).save(path)
    listed = plate.text.replace("0", "O") if "0" in plate.text else plate.text
    watch = PlateWatchlist(
        [WatchEntry("e-1", "stolen cars", "stolen", listed, "reported 2026-11-20")]
    )
    (finding,) = PlatesAnalyzer(PlatesConfig(), watchlist=watch).analyze(MediaSource(path))
    assert finding.attributes["watchlist"] == {
        "list": "stolen cars",
        "list_kind": "stolen",
        "entry_id": "e-1",
        "reason": "reported 2026-11-20",
        "plate": listed,
        "exact": True,
    }
    assert finding.alert == AlertHint(
        "watchlist_plate", "high", f"Plate {plate.display} on watch list stolen cars"
    )
    with pytest.raises(TypeError, match="PlateWatchlist"):
        PlatesAnalyzer(PlatesConfig(), watchlist={"not": "a list"})
