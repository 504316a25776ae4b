"""Speech: transcription with segment and word timestamps, and keyword spotting.

English (``language: "en"``, the default) uses Whisper tiny.en; Mandarin (``"zh"``) and
language detection (``"auto"``) use the multilingual Whisper base (``speech_models``: both
hash-checked, loaded from verified directories only, never from a hub), run by
``faster-whisper``: int8 on the CPU, float16 on CUDA when offered. With ``vad`` on,
faster-whisper's Silero VAD (ONNX, shipped inside faster-whisper, also hash-checked) skips
silence first.

Findings: one ``speech`` finding per transcribed segment (``attributes["text"]`` is
indexed into evidence search by the pipeline; ``words`` carry per-word times; ``language``
is the configured one, or with ``"auto"`` the detected one with its probability) and one
``keyword`` finding, with a ``keyword`` alert hint, each time a configured phrase is heard
(whole normalised words, in order, at a mean word probability of at least
``min_confidence``).

Mandarin accuracy is only measured on synthetic speech (docs/analysis/speech.md); other
languages are refused when the config is validated.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, field_validator

from citywitness.analysis import modelzoo, wer
from citywitness.analysis.contracts import AlertHint, AnalyzerConfig, Finding, ModelRef, register
from citywitness.analysis.media_source import AUDIO_RATE, MediaSource
from citywitness.analysis.speech_models import (
    BASE_PARTS,
    SILERO_VAD,
    WHISPER,
    WHISPER_PARTS,
    base_ref,
    device,
    load_model,
)

__all__ = [  # the model names other analyzers and the benchmark use from here
    "SILERO_VAD",
    "WHISPER",
    "WHISPER_PARTS",
    "device",
    "load_model",
]

KIND = "speech"
LANGUAGES = ("en", "zh", "auto")  # "en": tiny.en; "zh", "auto": multilingual base
DEFAULT_KEYWORDS = ("help", "gun", "drop the weapon", "knife", "shots fired", "officer down")
MAX_KEYWORD_WORDS = 8
MIN_AUDIO_S = 0.2  # shorter audio holds no word worth transcribing


class SpeechConfig(AnalyzerConfig):
    """Transcription and keyword spotting (``min_confidence`` applies to keywords)."""

    kind: Literal["speech"] = "speech"
    language: str = Field(
        default="en",
        description=(
            "Spoken language: 'en' (English, Whisper tiny.en: fast and the most accurate),"
            " 'zh' (Mandarin, multilingual Whisper base; quality measured on synthetic speech"
            " only) or 'auto' (base: detects the language from the first 30 s of each item or"
            " live segment and reports it)."
        ),
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
                f"language {value!r} cannot be transcribed: the installed speech models cover"
                " 'en' (Whisper tiny.en), 'zh' and 'auto' (multilingual Whisper base)"
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
    language: str = "en"
    language_probability: float | None = None  # with "auto": the detector's probability

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


def transcribe(audio: NDArray[np.float32], config: SpeechConfig) -> list[Segment]:
    """Segments of 16 kHz mono audio, with word timings (seconds from its start)."""
    if audio.size < MIN_AUDIO_S * AUDIO_RATE:
        return []
    if config.vad:
        modelzoo.resolve(SILERO_VAD)  # faster-whisper loads this very file: check it first
    auto = config.language == "auto"
    raw_segments, info = load_model(multilingual=config.language != "en").transcribe(
        audio,
        language=None if auto else config.language,
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
                    str(info.language),
                    float(info.language_probability) if auto else None,
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
        whisper = WHISPER_PARTS if self.config.language == "en" else BASE_PARTS
        return [*whisper, SILERO_VAD] if self.config.vad else list(whisper)

    def model_ref(self) -> ModelRef:
        """The Whisper model its findings record (the joined base model for zh and auto)."""
        return WHISPER.ref() if self.config.language == "en" else base_ref()

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
            model=self.model_ref(),
            attributes={
                "text": segment.text,
                "language": segment.language,
                **(
                    {"language_probability": round(segment.language_probability, 4)}
                    if segment.language_probability is not None
                    else {}
                ),
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
            model=self.model_ref(),
            attributes={
                "phrase": hit.phrase,
                "words": [word.as_dict(base) for word in hit.words],
            },
            alert=AlertHint("keyword", "high", f'Heard "{hit.phrase}"'),
        )
