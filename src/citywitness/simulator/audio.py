"""The sound of a patrol: street noise and, every few seconds, an officer's spoken phrase.

Speech comes from `espeak-ng` (Debian package `espeak-ng`) when it is installed, run
offline as a subprocess; without it a phrase is a pattern of tones, and the ground truth
says so (`"speech": false`).  Mono, 16 kHz, float samples in [-1, 1].
"""

from __future__ import annotations

import functools
import io
import random
import shutil
import subprocess
import wave
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
PHRASES = (
    "Dispatch, this is unit {unit}, on patrol, all quiet.",
    "Show me your hands. Step away from the vehicle.",
    "Drop the weapon! Drop it now!",
    "Help! I need backup at my location.",
    "Checking vehicle, plate {plate}.",
    "Sir, please stay on the sidewalk.",
    "Requesting an ambulance, one person injured.",
    "Unit {unit} to control, suspect running north.",
)


@dataclass(frozen=True)
class Utterance:
    """A phrase in the track: `start`/`end` in seconds from the stream's start."""

    text: str
    start: float
    end: float
    speech: bool


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


@functools.lru_cache(maxsize=64)
def synthesize(text: str) -> np.ndarray | None:
    """`text` spoken by espeak-ng at SAMPLE_RATE, or None when espeak-ng is missing."""
    program = shutil.which("espeak-ng")
    if program is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed program, text passed as one argument
            [program, "-v", "en-us", "-s", "150", "--stdout", text],
            capture_output=True,
            timeout=30,
            check=True,
        )
        with wave.open(io.BytesIO(done.stdout)) as wav:
            rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    except (OSError, subprocess.SubprocessError, wave.Error, EOFError):
        return None
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if rate != SAMPLE_RATE:
        positions = np.arange(0, len(samples), rate / SAMPLE_RATE)
        samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
    return samples * 0.8


def tones(seconds: float) -> np.ndarray:
    """Stand-in for speech without espeak-ng: two alternating tones."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = np.where((t * 4).astype(int) % 2 == 0, 440.0, 660.0)
    return (0.3 * np.sin(2 * np.pi * pitch * t)).astype(np.float32)


def spoken_plate(text: str) -> str:
    return " ".join(text)


class AudioTrack:
    """Samples on demand (`take(n)`), with the utterances that were placed in them."""

    def __init__(self, seed: int, *, unit: int, plates: list[str] | None = None) -> None:
        self.rng = random.Random(seed)
        self.noise = np.random.default_rng(seed)
        self.unit = unit
        self.plates = plates or ["7ABC123"]
        self.position = 0  # samples produced so far
        self.buffer = np.zeros(0, dtype=np.float32)
        self.next_phrase = int(self.rng.uniform(1.0, 3.0) * SAMPLE_RATE)
        self.utterances: list[Utterance] = []

    def _phrase(self) -> tuple[str, np.ndarray, bool]:
        text = self.rng.choice(PHRASES).format(
            unit=self.unit, plate=spoken_plate(self.rng.choice(self.plates))
        )
        spoken = synthesize(text)
        if spoken is None:
            return text, tones(2.0), False
        return text, spoken, True

    def take(self, count: int) -> np.ndarray:
        """The next `count` samples: street noise plus any phrase that starts or goes on."""
        out = self.noise.normal(0.0, 0.005, count).astype(np.float32)
        out += (np.sin(np.arange(self.position, self.position + count) / 900.0) * 0.004).astype(
            np.float32
        )
        end = self.position + count
        if self.next_phrase < end and self.buffer.size == 0:
            text, samples, speech = self._phrase()
            pad = np.zeros(self.next_phrase - self.position, dtype=np.float32)
            self.buffer = np.concatenate([pad, samples])
            start = self.next_phrase / SAMPLE_RATE
            self.utterances.append(
                Utterance(text, start, start + samples.size / SAMPLE_RATE, speech)
            )
            gap = self.rng.uniform(3.0, 7.0) * SAMPLE_RATE
            self.next_phrase += int(samples.size + gap)
        if self.buffer.size:
            used = min(count, self.buffer.size)
            out[:used] += self.buffer[:used]
            self.buffer = self.buffer[used:]
        self.position = end
        return np.clip(out, -1.0, 1.0)

    def utterances_between(self, start: float, end: float) -> list[Utterance]:
        return [u for u in self.utterances if u.start < end and u.end > start]
