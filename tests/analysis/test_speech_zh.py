"""Mandarin and language detection with the multilingual Whisper base, on espeak-ng speech.

espeak-ng's Mandarin voice reads Han characters it lacks letter by letter, so the clips are
spoken from tone-numbered pinyin (voice ``cmn-latn-pinyin``). The sentences and their
results here are ones measured stable (docs/analysis/speech.md: CER about 70% over the
whole synthetic set; this sentence comes back exactly).
"""

from __future__ import annotations

import subprocess
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from citywitness.analysis import modelzoo, speech_models, wer
from citywitness.analysis.contracts import Finding
from citywitness.analysis.media_source import MediaSource
from citywitness.analysis.speech import SpeechAnalyzer, SpeechConfig

pytestmark = pytest.mark.models

STOP_AND_TALK = ("我需要你停下来和我谈谈。", "wo3 xu1 yao4 ni3 ting2 xia4 lai2 he2 wo3 tan2 tan2.")
SUSPECT_NORTH = (
    "嫌疑人往北跑了，请求支援。",
    "xian2 yi2 ren2 wang3 bei3 pao3 le5, qing3 qiu2 zhi1 yuan2.",
)


def mandarin(folder: Path, pinyin: str, name: str) -> Path:
    path = folder / f"{name}.wav"
    subprocess.run(
        ["espeak-ng", "-v", "cmn-latn-pinyin", "-s", "130", "-w", str(path), pinyin], check=True
    )
    return path


def _speech(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.label == "speech"]


def _han(text: str) -> int:
    return sum(1 for char in text if unicodedata.name(char, "").startswith("CJK UNIFIED"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("speech-zh")
    return {
        "stop": mandarin(folder, STOP_AND_TALK[1], "stop"),
        "suspect": mandarin(folder, SUSPECT_NORTH[1], "suspect"),
    }


def test_mandarin_transcribed_with_the_base_model(clips: dict[str, Path]) -> None:
    analyzer = SpeechAnalyzer(SpeechConfig(language="zh"))
    segments = _speech(list(analyzer.analyze(MediaSource(clips["stop"]))))
    assert segments
    text = "".join(str(s.attributes["text"]) for s in segments)
    assert wer.cer(STOP_AND_TALK[0], text) <= 0.2  # measured 0.0 (12 characters)
    assert {s.attributes["language"] for s in segments} == {"zh"}
    assert all("language_probability" not in s.attributes for s in segments)
    assert {s.model for s in segments} == {speech_models.base_ref()}
    assert speech_models.base_ref().name == "whisper-base"
    assert speech_models.base_ref().version == "1.0.0"
    words = [w for s in segments for w in s.attributes["words"]]
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)


def test_auto_detects_mandarin_and_reports_it(clips: dict[str, Path]) -> None:
    analyzer = SpeechAnalyzer(SpeechConfig(language="auto"))
    segments = _speech(list(analyzer.analyze(MediaSource(clips["suspect"]))))
    assert segments
    assert {s.attributes["language"] for s in segments} == {"zh"}
    probability = segments[0].attributes["language_probability"]
    assert 0.8 <= probability <= 1  # measured 0.94-0.97
    assert _han("".join(str(s.attributes["text"]) for s in segments)) >= 5


def test_multilingual_model_is_joined_and_checked() -> None:
    directory = speech_models.base_directory()
    assert sorted(p.name for p in directory.iterdir() if not p.name.startswith(".")) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    assert modelzoo.file_sha256(directory / "model.bin") == speech_models.BASE_SHA256
    names = [spec.name for spec in SpeechAnalyzer(SpeechConfig(language="zh")).models()]
    assert names == [
        "whisper-base/model.bin.part1",
        "whisper-base/model.bin.part2",
        "whisper-base/config.json",
        "whisper-base/tokenizer.json",
        "whisper-base/vocabulary.txt",
        "silero-vad",
    ]
    assert all(modelzoo.verify(spec) for spec in speech_models.BASE_PARTS)


def test_joining_refuses_parts_that_do_not_make_the_model(tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    with pytest.raises(modelzoo.ModelUnavailable, match="the joined parts have SHA-256"):
        modelzoo.assemble(speech_models.BASE_MODEL_PARTS[:1], speech_models.BASE_SHA256, target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no partial file left behind


def test_a_corrupt_joined_file_is_rebuilt(tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    target.write_bytes(b"not a model")
    parts, sha = speech_models.BASE_MODEL_PARTS, speech_models.BASE_SHA256
    assert modelzoo.assemble(parts, sha, target) == target
    assert modelzoo.file_sha256(target) == sha


def test_window_frames_trims_padding_only() -> None:
    features = np.zeros((1, 80, 3000), dtype=np.float32)
    assert speech_models.window_frames(features) == 500  # silence: the 5 s minimum
    features[..., :250] = -0.5
    assert speech_models.window_frames(features) == 500  # 2.5 s + 1 s margin -> 5 s
    features[..., :1234] = -0.5
    assert speech_models.window_frames(features) == 1400  # 12.34 s + 1 s, whole seconds
    features[..., :2950] = -0.5
    assert speech_models.window_frames(features) == 3000  # never past the window
    assert speech_models.window_frames(features[0]) == 3000  # (80, frames) as well
