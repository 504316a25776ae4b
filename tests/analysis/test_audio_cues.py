"""Shouting from audio level: espeak-ng speech at two loudness levels, and noise."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from citywitness.analysis import audio_cues
from citywitness.analysis.audio_cues import AudioCueConfig
from citywitness.analysis.behaviour import BehaviourAnalyzer, BehaviourConfig
from citywitness.analysis.media_source import MediaSource
from tests.analysis import behaviour_media as media

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def calm() -> np.ndarray:
    return np.concatenate(
        [
            media.speech("Good evening, can I see your licence please", 20),
            media.silence(0.5),
            media.speech("Thank you, have a nice day", 20),
        ]
    )


@pytest.fixture(scope="module")
def shout() -> np.ndarray:
    return media.speech("Help! Get off me! Help!", 200)


def test_dbfs() -> None:
    t = np.arange(16_000) / 16_000
    sine = np.sin(2 * math.pi * 440 * t).astype(np.float32)
    assert audio_cues.dbfs(sine) == pytest.approx(-3.01, abs=0.01)
    assert audio_cues.dbfs(np.zeros(100, dtype=np.float32)) == -120.0


def test_calm_speech_gives_no_cue(calm: np.ndarray) -> None:
    assert audio_cues.shouting(calm, AudioCueConfig()) == []


def test_shouting_after_calm_speech(calm: np.ndarray, shout: np.ndarray) -> None:
    samples = np.concatenate([calm, media.silence(0.5), shout])
    shout_start = (calm.size + media.silence(0.5).size) / media.RATE
    (cue,) = audio_cues.shouting(samples, AudioCueConfig(), base_offset_s=100.0)
    assert cue.label == "cue.shouting"
    assert abs(cue.offset_s - 100.0 - shout_start) <= 0.5
    assert cue.duration_s is not None and 1.5 <= cue.duration_s <= 3.0
    assert cue.attributes["above_reference_db"] >= 12
    assert cue.model.name == "silero-vad"
    assert cue.alert is not None and cue.alert.severity == "medium"


def test_loud_noise_is_not_shouting(calm: np.ndarray) -> None:
    samples = np.concatenate([calm, media.noise(1.5, -8.0)])
    assert audio_cues.shouting(samples, AudioCueConfig()) == []
    # without the voice checks the same burst is flagged
    loose = AudioCueConfig(use_vad=False, max_flatness=1.0)
    (cue,) = audio_cues.shouting(samples, loose)
    assert cue.model.name == "audio-level"
    assert abs(cue.offset_s - calm.size / media.RATE) <= 0.5


def test_silence_gives_nothing() -> None:
    assert audio_cues.shouting(media.silence(3.0), AudioCueConfig()) == []


def test_behaviour_analyzer_reads_the_audio_track(
    tmp_path: Path, calm: np.ndarray, shout: np.ndarray
) -> None:
    wav = media.write_wav(tmp_path / "mix.wav", np.concatenate([calm, shout]))
    findings = list(BehaviourAnalyzer(BehaviourConfig()).analyze(MediaSource(wav)))
    assert [f.label for f in findings] == ["cue.shouting"]
