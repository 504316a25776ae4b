"""Redaction on real media: faces (photos from the face_recognition sdist) and a drawn plate
are covered, as an independent face detector (dlib HOG, not CenterFace) and an OCR
(RapidOCR) confirm; audio is silenced in the mute range and left alone elsewhere."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dlib
import numpy as np
import pytest
from numpy.typing import NDArray
from rapidocr import RapidOCR
from typer.testing import CliRunner

from citywitness.cli import app
from tests.analysis.redaction_clip import PLATE_TEXT, Clip, audio_of, decoded, make_clip

pytestmark = pytest.mark.models

MUTE = (0.4, 0.8)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    return make_clip(tmp_path_factory.mktemp("redaction") / "clip.mp4", seconds=1.2)


@pytest.fixture(scope="module")
def redacted(clip: Clip) -> tuple[Path, dict[str, object], str]:
    """The CLI's output for the clip, its JSON summary, and the input's hash before."""
    before = hashlib.sha256(clip.path.read_bytes()).hexdigest()
    out = clip.path.with_name("redacted.mp4")
    mute = f"{MUTE[0]}-{MUTE[1]}"
    args = ["redact", str(clip.path), "-o", str(out), "--mute", mute, "--every", "3", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return out, summary, before


def _faces(frames: list[NDArray[np.uint8]]) -> list[int]:
    detector = dlib.get_frontal_face_detector()
    return [len(detector(frame, 1)) for frame in frames]


def _rms(samples: NDArray[np.float32]) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def test_faces_found_before_none_after(
    clip: Clip, redacted: tuple[Path, dict[str, object], str]
) -> None:
    out, summary, before = redacted
    original, result = decoded(clip.path), decoded(out)
    assert len(result) == len(original) == clip.frames == summary["frames"]
    assert _faces(original[::6]) == [2] * len(original[::6])
    assert _faces(result) == [0] * len(result)
    assert summary["tracks"] == {"face": 2, "plate": 1}
    assert summary["boxes_drawn"] == 3 * clip.frames
    assert hashlib.sha256(clip.path.read_bytes()).hexdigest() == before


def test_plate_text_unreadable_after(
    clip: Clip, redacted: tuple[Path, dict[str, object], str]
) -> None:
    out, _, _ = redacted
    ocr = RapidOCR()
    x0, y0, x1, y1 = clip.plate
    crop = (slice(y0 - 12, y1 + 12), slice(x0 - 12, x1 + 12))
    wanted = PLATE_TEXT.replace(" ", "")
    read_before = "".join(ocr(decoded(clip.path)[5][crop]).txts or ())
    assert read_before.replace(" ", "") == wanted
    frames = decoded(out)
    for frame in frames[::7]:
        text = "".join(ocr(frame[crop]).txts or ())
        assert not any(part in text for part in PLATE_TEXT.split()), text
    whole = "".join(ocr(frames[10]).txts or ())
    assert not any(part in whole for part in PLATE_TEXT.split()), whole


def test_audio_muted_in_range_only(
    clip: Clip, redacted: tuple[Path, dict[str, object], str]
) -> None:
    out, summary, _ = redacted
    assert (summary["audio"], summary["muted"]) == ("muted", [list(MUTE)])
    samples, rate = audio_of(out)
    original, _ = audio_of(clip.path)
    inside = samples[round((MUTE[0] + 0.03) * rate) : round((MUTE[1] - 0.03) * rate)]
    assert _rms(inside) < 1e-3
    for start, end in ((0.1, MUTE[0] - 0.05), (MUTE[1] + 0.05, 1.1)):
        part = samples[round(start * rate) : round(end * rate)]
        reference = original[round(start * rate) : round(end * rate)]
        assert abs(_rms(part) - _rms(reference)) < 0.02
        assert _rms(part) > 0.3


def test_solid_mode_and_no_detection_copies_audio(clip: Clip) -> None:
    out = clip.path.with_name("nothing.mp4")
    args = ["redact", str(clip.path), "-o", str(out), "--no-faces", "--no-plates", "--json"]
    result = CliRunner().invoke(app, [*args, "--mode", "solid"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["boxes_drawn"], summary["audio"], summary["sampled_frames"]) == (0, "copied", 0)
    assert _faces(decoded(out)[:1]) == [2]


def test_bad_arguments_exit_cleanly(clip: Clip) -> None:
    runner = CliRunner()
    same = runner.invoke(app, ["redact", str(clip.path), "-o", str(clip.path)])
    assert same.exit_code == 2
    bad = runner.invoke(
        app, ["redact", str(clip.path), "-o", str(clip.path.with_name("x.mp4")), "--mute", "5-2"]
    )
    assert bad.exit_code == 2
    mode = runner.invoke(
        app, ["redact", str(clip.path), "-o", str(clip.path.with_name("x.mp4")), "--mode", "pink"]
    )
    assert mode.exit_code == 2
    junk = clip.path.with_name("junk.mp4")
    junk.write_bytes(b"not a video at all" * 100)
    broken = runner.invoke(app, ["redact", str(junk), "-o", str(junk.with_suffix(".out.mp4"))])
    assert broken.exit_code == 1
