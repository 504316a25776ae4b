"""Shouting or distress from audio level: loud speech relative to the clip's own level.

No shipped model classifies screams or shouting (research notes, section 6), so this is a
measurement, not a classifier. The audio (16 kHz mono) is cut into windows; each window gets
its level in dBFS (RMS relative to full scale) and, with the Silero VAD that ships inside
``faster-whisper``, the probability that it holds speech. The clip's reference level is the
median level of its speech windows. A speech window at least ``margin_db`` above that
reference (and above ``min_dbfs``), or at ``absolute_dbfs`` or louder whatever the reference,
is loud speech; consecutive loud windows make one ``cue.shouting`` finding.

Loud sounds that are not speech (traffic, a bang, wind on the microphone) give no cue: the
VAD rejects them. A clip that is loud from start to end has a loud reference and only
``absolute_dbfs`` can flag it. Device gain control (AGC) and clipping shift every level, so
thresholds need calibration on the recorders actually deployed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from citywitness.analysis import runtime
from citywitness.analysis.contracts import AlertHint, Finding, ModelRef
from citywitness.analysis.media_source import AUDIO_RATE
from citywitness.analysis.speech import SILERO_VAD

ANALYZER = "behaviour"
LEVEL_ONLY = ModelRef(name="audio-level", version="1", sha256="")
_VAD_CHUNK = 512  # samples per VAD probability (32 ms at 16 kHz)
_VAD_CONTEXT = 64
_FLOOR_DBFS = -120.0


class AudioCueConfig(BaseModel):
    """Thresholds for ``cue.shouting``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Look for shouting in the audio track.")
    window_s: float = Field(default=0.5, gt=0.05, le=5, description="Level window, seconds.")
    margin_db: float = Field(
        default=12.0, gt=0, le=60, description="Loud speech: this many dB above the clip's median."
    )
    min_dbfs: float = Field(
        default=-30.0, ge=-90, le=0, description="Never flag a window quieter than this."
    )
    absolute_dbfs: float = Field(
        default=-10.0,
        ge=-60,
        le=0,
        description="Speech at this level or louder is flagged whatever the clip's median.",
    )
    silence_dbfs: float = Field(
        default=-55.0, ge=-120, le=0, description="Windows below this are left out of the median."
    )
    use_vad: bool = Field(
        default=True, description="Require speech (Silero VAD); off: any loud sound counts."
    )
    min_speech_probability: float = Field(default=0.5, ge=0, le=1)
    max_flatness: float = Field(
        default=0.4,
        gt=0,
        le=1,
        description="Spectral flatness above which a window is noise, not voice (1: no check).",
    )
    merge_gap_s: float = Field(
        default=1.0, ge=0, le=10, description="Loud windows this close make one finding."
    )


@dataclass(frozen=True, slots=True)
class LevelWindow:
    """One window: start (seconds into the samples), level in dBFS, speech probability."""

    offset_s: float
    level_dbfs: float
    speech: float
    flatness: float

    def voiced(self, config: AudioCueConfig) -> bool:
        """Speech by the VAD, and tonal (noise has a flat spectrum, voiced speech does not)."""
        return self.speech >= config.min_speech_probability and self.flatness <= config.max_flatness


def dbfs(samples: NDArray[np.float32]) -> float:
    """RMS level relative to full scale (a full-scale sine is -3 dBFS); -120 for silence."""
    if samples.size == 0:
        return _FLOOR_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    return max(_FLOOR_DBFS, 20 * math.log10(rms)) if rms > 0 else _FLOOR_DBFS


def spectral_flatness(samples: NDArray[np.float32], silence_dbfs: float) -> float:
    """Median spectral flatness (0: a pure tone, about 0.56: white noise) of the audible
    512-sample chunks (1.0 when none is audible)."""
    count = samples.size // _VAD_CHUNK
    if count == 0:
        return 1.0
    chunks = samples[: count * _VAD_CHUNK].reshape(count, _VAD_CHUNK).astype(np.float64)
    power = np.mean(np.square(chunks), axis=1)
    audible = chunks[power > 10 ** (silence_dbfs / 10)]
    if audible.shape[0] == 0:
        return 1.0
    spectrum = np.square(np.abs(np.fft.rfft(audible * np.hanning(_VAD_CHUNK), axis=1))) + 1e-12
    flatness = np.exp(np.mean(np.log(spectrum), axis=1)) / np.mean(spectrum, axis=1)
    return float(np.median(flatness))


def speech_probabilities(samples: NDArray[np.float32]) -> NDArray[np.float32]:
    """Silero VAD speech probability for every 512-sample chunk (zero-padded at the end)."""
    count = math.ceil(samples.size / _VAD_CHUNK)
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.zeros(count * _VAD_CHUNK, dtype=np.float32)
    padded[: samples.size] = samples
    chunks = padded.reshape(count, _VAD_CHUNK)
    context = np.zeros((count, _VAD_CONTEXT), dtype=np.float32)
    context[1:] = chunks[:-1, -_VAD_CONTEXT:]
    batch = np.ascontiguousarray(np.concatenate([context, chunks], axis=1))
    state = np.zeros((1, 1, 128), dtype=np.float32)
    session = runtime.session(SILERO_VAD)
    probs = session.run(["speech_probs"], {"input": batch, "h": state, "c": state})[0]
    return np.asarray(probs, dtype=np.float32).reshape(-1)[:count]


def level_windows(samples: NDArray[np.float32], config: AudioCueConfig) -> list[LevelWindow]:
    """Every window's level and (with the VAD) its highest speech probability."""
    step = max(_VAD_CHUNK, round(config.window_s * AUDIO_RATE / _VAD_CHUNK) * _VAD_CHUNK)
    probs = speech_probabilities(samples) if config.use_vad else None
    per_window = step // _VAD_CHUNK
    windows: list[LevelWindow] = []
    for index, start in enumerate(range(0, samples.size, step)):
        chunk = samples[start : start + step]
        if chunk.size < step // 2:
            break
        speech = 1.0
        if probs is not None:
            part = probs[index * per_window : (index + 1) * per_window]
            speech = float(part.max()) if part.size else 0.0
        flatness = spectral_flatness(chunk, config.silence_dbfs)
        windows.append(LevelWindow(start / AUDIO_RATE, dbfs(chunk), speech, flatness))
    return windows


def reference_dbfs(windows: list[LevelWindow], config: AudioCueConfig) -> float | None:
    """The clip's own speaking level: the median of its speech windows (None: no speech)."""
    audible = [w for w in windows if w.level_dbfs > config.silence_dbfs]
    voiced = [w.level_dbfs for w in audible if w.voiced(config)]
    return float(np.median(voiced)) if voiced else None


def _loud(window: LevelWindow, reference: float, config: AudioCueConfig) -> bool:
    if not window.voiced(config):
        return False
    if window.level_dbfs >= config.absolute_dbfs:
        return True
    return window.level_dbfs >= max(reference + config.margin_db, config.min_dbfs)


def shouting(
    samples: NDArray[np.float32],
    config: AudioCueConfig,
    *,
    base_offset_s: float = 0.0,
    alert_min_confidence: float = 0.6,
) -> list[Finding]:
    """One ``cue.shouting`` finding per run of loud speech windows, in time order."""
    windows = level_windows(samples, config)
    reference = reference_dbfs(windows, config)
    if reference is None:
        return []
    runs: list[list[LevelWindow]] = []
    for window in windows:
        if not _loud(window, reference, config):
            continue
        if (
            runs
            and window.offset_s - runs[-1][-1].offset_s
            <= config.window_s + config.merge_gap_s + 1e-6
        ):
            runs[-1].append(window)
        else:
            runs.append([window])
    model = SILERO_VAD.ref() if config.use_vad else LEVEL_ONLY
    return [
        _finding(run, reference, config, model, base_offset_s, alert_min_confidence) for run in runs
    ]


def _finding(  # noqa: PLR0917 - private helper, every argument is a measured value
    run: list[LevelWindow],
    reference: float,
    config: AudioCueConfig,
    model: ModelRef,
    base_offset_s: float,
    alert_min_confidence: float,
) -> Finding:
    peak = max(w.level_dbfs for w in run)
    above = peak - reference
    # 0.5 at the margin, rising to 0.99 at twice the margin (or at the absolute level)
    confidence = 0.5 + 0.5 * min(1.0, max(0.0, above / config.margin_db - 1.0))
    if peak >= config.absolute_dbfs:
        confidence = max(confidence, 0.8)
    confidence = round(min(0.99, confidence) * max(w.speech for w in run) ** 0.5, 4)
    alert = None
    if confidence >= alert_min_confidence:
        alert = AlertHint("behaviour_cue", "medium", "Shouting or distress heard")
    return Finding(
        analyzer=ANALYZER,
        label="cue.shouting",
        offset_s=base_offset_s + run[0].offset_s,
        duration_s=run[-1].offset_s + config.window_s - run[0].offset_s,
        confidence=confidence,
        model=model,
        attributes={
            "level_dbfs": round(peak, 1),
            "reference_dbfs": round(reference, 1),
            "above_reference_db": round(above, 1),
            "speech_probability": round(max(w.speech for w in run), 3),
            "spectral_flatness": round(min(w.flatness for w in run), 3),
        },
        alert=alert,
    )
