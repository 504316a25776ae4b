"""Plates and live video: numbers follow their grammar, segments decode with PyAV, and the
ground truth's plate boxes hold the plate that the simulator says is there."""

from __future__ import annotations

import io
import random
import re
from datetime import UTC, datetime

import av
import numpy as np
import pytest
from PIL import Image

from citywitness.simulator import audio
from citywitness.simulator.audio import SAMPLE_RATE, AudioTrack
from citywitness.simulator.plates import COLOURS, KINDS, Plate, random_plate, render_plate
from citywitness.simulator.scene import SceneRenderer
from citywitness.simulator.video import LiveEncoder, split_boxes

GRAMMAR = {
    "cn_blue": r"^[京津沪渝冀豫苏浙粤川鲁鄂湘闽皖辽][A-HJ-NP-Z][A-HJ-NP-Z0-9]{5}$",
    "cn_yellow": r"^[京津沪渝冀豫苏浙粤川鲁鄂湘闽皖辽][A-HJ-NP-Z][A-HJ-NP-Z0-9]{5}$",
    "cn_green": r"^[京津沪渝冀豫苏浙粤川鲁鄂湘闽皖辽][A-HJ-NP-Z][DF][0-9]{5}$",
    "cn_police": r"^[京津沪渝冀豫苏浙粤川鲁鄂湘闽皖辽][A-HJ-NP-Z][0-9]{4}警$",
    "eu": r"^[A-Z]{2}[0-9]{3}[A-Z]{2}$",
    "us": r"^[1-9][A-Z]{3}[0-9]{3}$",
}
STARTED = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_plates_follow_their_grammar_and_every_kind_appears() -> None:
    rng = random.Random(11)
    plates = [random_plate(rng) for _ in range(600)]
    assert {p.kind for p in plates} == set(KINDS)
    for plate in plates:
        assert re.match(GRAMMAR[plate.kind], plate.text), plate
        assert plate.display.replace("·", "").replace("-", "") == plate.text


@pytest.mark.parametrize("kind", KINDS)
def test_plate_pictures_carry_text_in_the_plate_colours(kind: str) -> None:
    text = {"cn_police": "沪A1234警", "eu": "AB123CD", "us": "7ABC123"}.get(kind, "沪A12345")
    picture = np.asarray(render_plate(Plate(kind, text, text)))
    background, ink = COLOURS[kind]
    inner = picture[12:-12, 50:-14].reshape(-1, 3).astype(int)
    near_ink = np.abs(inner - np.asarray(ink)).sum(axis=1) < 90
    near_background = np.abs(inner - np.asarray(background)).sum(axis=1) < 90
    assert 0.12 < near_ink.mean() < 0.6  # characters drawn...
    assert near_background.mean() > 0.3  # ...on the plate's colour


def test_audio_places_phrases_and_reports_them() -> None:
    track = AudioTrack(3, unit=12)
    samples = np.concatenate([track.take(1024) for _ in range(16 * 12)])  # about 12 s
    assert samples.shape == (16 * 12 * 1024,)
    assert float(np.abs(samples).max()) <= 1.0
    assert track.utterances
    first = track.utterances[0]
    assert first.speech == audio.espeak_available()
    loud = np.abs(samples[int(first.start * SAMPLE_RATE) : int(first.end * SAMPLE_RATE)]).mean()
    quiet = np.abs(samples[: int(first.start * SAMPLE_RATE)]).mean()
    assert loud > 3 * quiet


def decode(init: bytes, fragment: bytes) -> tuple[list[np.ndarray], int]:
    with av.open(io.BytesIO(init + fragment)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(io.BytesIO(init + fragment)) as container:
        audio_frames = sum(1 for _ in container.decode(audio=0))
    return frames, audio_frames


def test_segments_decode_and_their_plate_boxes_hold_plates() -> None:
    scene = SceneRenderer(seed=21, label="SIM-TEST")
    encoder = LiveEncoder(scene, AudioTrack(21, unit=1), STARTED)
    segments = [encoder.next_segment() for _ in range(6)]
    encoder.close()
    init = encoder.init_segment
    assert [kind for kind, _ in split_boxes(bytearray(init))] == ["ftyp", "moov"]
    background = np.asarray(scene.background)
    checked = 0
    for segment in segments:
        assert [kind for kind, _ in split_boxes(bytearray(segment.data))] == ["moof", "mdat"]
        frames, audio_frames = decode(init, segment.data)
        assert len(frames) == 20  # 2 s at 10 fps
        assert frames[0].shape == (360, 640, 3)
        assert audio_frames >= 25  # about 2 s of 1024-sample AAC frames at 16 kHz
        for plate in segment.plates:
            index = round(plate.first_s * scene.fps)
            x, y, w, h = plate.box
            region = frames[index][y : y + h, x : x + w].astype(int)
            empty = background[y : y + h, x : x + w].astype(int)
            changed = np.abs(region - empty).sum(axis=2) > 60
            assert changed.mean() > 0.5, plate  # not the empty street
            ink = np.asarray(COLOURS[plate.kind][0])
            assert (np.abs(region - ink).sum(axis=2) < 120).mean() > 0.2, plate  # its colour
            checked += 1
    assert checked >= 2
    whole = init + b"".join(s.data for s in segments)
    with av.open(io.BytesIO(whole)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 120


def test_the_same_seed_draws_the_same_street() -> None:
    one, two = SceneRenderer(seed=5), SceneRenderer(seed=5)
    for index in range(30):
        a, seen_a = one.frame(index, STARTED)
        b, seen_b = two.frame(index, STARTED)
        assert seen_a == seen_b
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert isinstance(a, Image.Image)


def test_a_sighting_is_the_whole_plate_unhidden() -> None:
    """Every plate the truth lists is in the frame pixel for pixel: a plate behind a nearer
    vehicle is not listed (seed 1 drives a second car behind the first from 7.8 s on)."""
    scene = SceneRenderer(seed=1)
    listed: set[str] = set()
    for index in range(160):
        image, seen = scene.frame(index, STARTED)
        frame = np.asarray(image).astype(int)
        for sighting in seen:
            x, y, w, h = sighting.box
            picture = render_plate(sighting.plate).resize((w, h), Image.Resampling.LANCZOS)
            assert np.array_equal(frame[y : y + h, x : x + w], np.asarray(picture)), index
            listed.add(sighting.plate.display)
    hidden = [v.plate.display for v in scene.vehicles if v.plate.display not in listed]
    assert listed == {"沪F·PS179"}
    assert hidden == ["沪H·519Q0"]
