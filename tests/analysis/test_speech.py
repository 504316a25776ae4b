"""The speech analyzer on espeak-ng speech: transcript, word times, keyword findings, config."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from pydantic import ValidationError

from citywitness.analysis import contracts, modelzoo
from citywitness.analysis.contracts import AlertHint, Finding
from citywitness.analysis.media_source import AUDIO_RATE, MediaSource
from citywitness.analysis.speech import (
    DEFAULT_KEYWORDS,
    SILERO_VAD,
    WHISPER,
    SpeechAnalyzer,
    SpeechConfig,
    Word,
    spot,
)

pytestmark = pytest.mark.models

PAD_S = 1.5  # silence before the speech
SAID = "Drop the weapon. Help me."


def _write_wav(path: Path, samples: NDArray[np.float32]) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(AUDIO_RATE)
        out.writeframes(pcm.tobytes())
    return path


def espeak(folder: Path, text: str, *, pad_s: float = PAD_S) -> Path:
    """``text`` spoken by espeak-ng after ``pad_s`` of silence, as 16 kHz mono WAV."""
    raw = folder / "espeak.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), "-s", "150", text], check=True)
    speech = MediaSource(raw).audio()
    silence = np.zeros(round(pad_s * AUDIO_RATE), dtype=np.float32)
    return _write_wav(folder / "speech.wav", np.concatenate([silence, speech, silence[:8000]]))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return espeak(tmp_path_factory.mktemp("speech"), SAID)


@pytest.fixture(scope="module")
def found(clip: Path) -> list[Finding]:
    analyzer = contracts.build(contracts.parse_config({"kind": "speech"}))
    return list(analyzer.analyze(MediaSource(clip)))


def test_transcript_with_word_times(found: list[Finding]) -> None:
    [segment] = [f for f in found if f.label == "speech"]
    assert segment.analyzer == "speech"
    assert segment.attributes["text"] == SAID
    assert segment.attributes["language"] == "en"
    assert segment.model == WHISPER.ref()
    assert segment.model.name == "whisper-tiny.en"
    assert 0 < segment.confidence <= 1
    words = segment.attributes["words"]
    assert [w["word"] for w in words] == ["Drop", "the", "weapon.", "Help", "me."]
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)
    assert all(w["start"] <= w["end"] for w in words)
    assert abs(segment.offset_s - PAD_S) <= 0.5
    assert segment.duration_s is not None
    assert segment.offset_s + segment.duration_s == pytest.approx(words[-1]["end"], abs=0.001)


def test_keywords_heard_at_the_right_time(found: list[Finding]) -> None:
    keywords = [f for f in found if f.label == "keyword"]
    assert [f.attributes["phrase"] for f in keywords] == ["drop the weapon", "help"]
    drop, help_ = keywords
    assert abs(drop.offset_s - PAD_S) <= 0.5
    assert drop.duration_s is not None
    assert drop.offset_s + drop.duration_s <= help_.offset_s
    assert PAD_S + 1.0 <= help_.offset_s <= PAD_S + 2.2
    assert [w["word"] for w in drop.attributes["words"]] == ["Drop", "the", "weapon."]
    assert drop.alert == AlertHint("keyword", "high", 'Heard "drop the weapon"')
    assert help_.alert == AlertHint("keyword", "high", 'Heard "help"')
    assert "text" not in drop.attributes  # the segment's text is indexed once, not twice
    assert [f.offset_s for f in found] == sorted(f.offset_s for f in found)


def test_base_offset_and_keyword_confidence_floor(clip: Path, found: list[Finding]) -> None:
    config = SpeechConfig(min_confidence=0.999, beam_size=5)
    shifted = list(SpeechAnalyzer(config).analyze(MediaSource(clip, base_offset_s=100.0)))
    assert [f.label for f in shifted] == ["speech"]  # no keyword is that certain
    [segment] = [f for f in found if f.label == "speech"]
    assert shifted[0].offset_s == pytest.approx(segment.offset_s + 100.0)
    first = shifted[0].attributes["words"][0]["start"]
    assert first == pytest.approx(segment.attributes["words"][0]["start"] + 100.0, abs=0.0011)


def test_silence_and_tiny_audio_give_nothing(tmp_path: Path) -> None:
    analyzer = SpeechAnalyzer(SpeechConfig())
    silent = _write_wav(tmp_path / "silent.wav", np.zeros(2 * AUDIO_RATE, dtype=np.float32))
    assert list(analyzer.analyze(MediaSource(silent))) == []
    blip = _write_wav(tmp_path / "blip.wav", np.full(100, 0.5, dtype=np.float32))
    assert list(analyzer.analyze(MediaSource(blip))) == []


def test_models_are_declared_and_verified() -> None:
    names = [spec.name for spec in SpeechAnalyzer(SpeechConfig()).models()]
    assert names == [
        "whisper-tiny.en",
        "whisper-tiny.en/config.json",
        "whisper-tiny.en/tokenizer.json",
        "whisper-tiny.en/vocabulary.txt",
        "silero-vad",
    ]
    assert (
        SpeechAnalyzer(SpeechConfig(vad=False)).models()[-1].name
        == "whisper-tiny.en/vocabulary.txt"
    )
    catalog = {spec.name for spec in modelzoo.catalog()}
    assert set(names) <= catalog
    assert modelzoo.verify(SILERO_VAD).name == "silero_vad_v6.onnx"
    assert modelzoo.verify(WHISPER).name == "model.bin"
    assert {spec.license for spec in SpeechAnalyzer(SpeechConfig()).models()} == {"MIT"}


def test_config_defaults() -> None:
    config = contracts.parse_config({"kind": "speech"})
    assert isinstance(config, SpeechConfig)
    assert (config.language, config.beam_size, config.vad) == ("en", 5, True)
    assert config.keywords == DEFAULT_KEYWORDS
    assert "drop the weapon" in config.keywords


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"language": "fr"}, "'zh' and 'auto' (multilingual Whisper base)"),
        ({"language": "en-US"}, "language 'en-US' cannot be transcribed"),
        ({"keywords": ["help", "..."]}, "keyword '...' must have 1 to 8 words"),
        ({"keywords": ["Gun!", "gun"]}, "keywords 'Gun!' and 'gun' are the same phrase"),
        ({"beam_size": 0}, "greater than or equal to 1"),
        ({"model": "base"}, "Extra inputs are not permitted"),
    ],
)
def test_config_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        contracts.parse_config({"kind": "speech", **data})


def _words(*texts: str) -> list[Word]:
    return [Word(text, float(i), i + 0.5, 0.9) for i, text in enumerate(texts)]


def test_spot_whole_words_in_order() -> None:
    words = _words("Help!", "helpless", "DROP", "the", "weapon,", "help", "me")
    hits = spot(["help", "drop the weapon", "knife"], words)
    assert [(h.phrase, h.start, h.end) for h in hits] == [
        ("help", 0.0, 0.5),
        ("drop the weapon", 2.0, 4.5),
        ("help", 5.0, 5.5),
    ]
    assert hits[1].probability == pytest.approx(0.9)


def test_spot_phrase_split_inside_one_word() -> None:
    # Whisper may hand back "shots-fired" as one word: normalisation splits it.
    hits = spot(["shots fired"], _words("shots-fired", "now"))
    assert [(h.phrase, [w.text for w in h.words]) for h in hits] == [
        ("shots fired", ["shots-fired"])
    ]
