"""Test media for behaviour cues: real people (photos from the face_recognition sdist) moved
over a generated background with PyAV, and speech at two loudness levels from espeak-ng.

Every clip is 640x360 at 10 frames per second. People are cut out of the photos as the box
YOLOv8n finds around them (background included: that is what a detector sees anyway) and
pasted at a given height, position and rotation per frame.
"""

from __future__ import annotations

import functools
import io
import subprocess
import tarfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image

SDIST = Path(__file__).resolve().parents[2] / ".cache/testdata/face_recognition-1.3.0.tar.gz"
WIDTH, HEIGHT, FPS = 640, 360, 10
RATE = 16_000

# person boxes (x0, y0, x1, y1 as fractions) found by YOLOv8n in the photos
_CROPS = {
    "biden.jpg": (0.02, 0.035, 1.0, 1.0),
    "obama3.jpg": (0.15, 0.085, 0.86, 1.0),
}


@functools.cache
def photo(name: str) -> Image.Image:
    with tarfile.open(SDIST) as tar:
        member = tar.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
        assert member is not None
        image = Image.open(io.BytesIO(member.read())).convert("RGB")
    x0, y0, x1, y1 = _CROPS.get(name, (0.0, 0.0, 1.0, 1.0))
    w, h = image.size
    return image.crop((round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)))


def background(seed: int = 7) -> Image.Image:
    """A street-like backdrop: a grey gradient with some soft-coloured blocks (no people)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(150, 90, HEIGHT, dtype=np.float32)[:, None, None]
    canvas = np.broadcast_to(ramp, (HEIGHT, WIDTH, 3)).copy()
    for _ in range(14):
        x, y = int(rng.integers(0, WIDTH - 60)), int(rng.integers(0, HEIGHT // 2))
        w, h = int(rng.integers(30, 120)), int(rng.integers(20, 80))
        canvas[y : y + h, x : x + w] = rng.integers(70, 200, size=3)
    canvas += rng.normal(0, 4, canvas.shape)
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))


@dataclass(frozen=True, slots=True)
class Sprite:
    """One person in one frame: photo, height in pixels, bottom-centre position, rotation."""

    name: str
    height: int
    x: float  # bottom-centre, pixels
    y: float
    angle: float = 0.0  # degrees counter-clockwise


def _paste(canvas: Image.Image, sprite: Sprite) -> None:
    image = photo(sprite.name)
    scale = sprite.height / image.height
    person = image.resize((max(1, round(image.width * scale)), sprite.height))
    if sprite.angle:
        person = person.rotate(sprite.angle, expand=True, fillcolor=(120, 120, 120))
    canvas.paste(person, (round(sprite.x - person.width / 2), round(sprite.y - person.height)))


Scene = Callable[[float], Sequence[Sprite]]


def write_clip(
    path: Path, scene: Scene, seconds: float, audio: NDArray[np.float32] | None = None
) -> Path:
    """Render ``scene(t)`` for every frame into an H.264 MP4 (with AAC audio when given)."""
    back = background()
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        sound = container.add_stream("aac", rate=RATE) if audio is not None else None
        for index in range(round(seconds * FPS)):
            canvas = back.copy()
            for sprite in scene(index / FPS):
                _paste(canvas, sprite)
            frame = av.VideoFrame.from_ndarray(np.asarray(canvas), format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None and audio is not None:
            _encode_audio(container, sound, audio)
    return path


def _encode_audio(
    container: av.container.OutputContainer, stream: av.AudioStream, audio: NDArray[np.float32]
) -> None:
    samples = np.asarray(audio, dtype=np.float32)
    for start in range(0, samples.size, 1024):
        chunk = samples[start : start + 1024][None]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="flt", layout="mono")
        frame.sample_rate = RATE
        frame.pts = start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


# --- scenes -----------------------------------------------------------------------------


def calm(t: float) -> list[Sprite]:
    """One person standing, one walking slowly (0.3 body heights per second)."""
    return [Sprite("biden.jpg", 200, 160, 340), Sprite("obama3.jpg", 180, 380 + 54 * t, 330)]


def running(t: float) -> list[Sprite]:
    """A person standing still for 1 s, then running right at 3 body heights per second."""
    return [Sprite("obama3.jpg", 150, 80 + 450 * max(0.0, t - 1.0), 340)]


def fall(t: float) -> list[Sprite]:
    """A person standing until 2.0 s, falling over 0.5 s (rotating 90 degrees), then lying."""
    progress = min(1.0, max(0.0, (t - 2.0) / 0.5))
    return [Sprite("biden.jpg", 220, 300, 340, angle=90.0 * progress)]


def crowd(t: float) -> list[Sprite]:
    """People arriving one per 0.6 s until five stand together (from 2.4 s)."""
    xs = [80, 200, 320, 440, 560]
    names = ["biden.jpg", "obama3.jpg"]
    return [Sprite(names[i % 2], 170, x, 345) for i, x in enumerate(xs) if t >= i * 0.6]


def struggle(t: float) -> list[Sprite]:
    """Two people side by side, still until 1.5 s, then grappling: both jerk around."""
    rng = np.random.default_rng(round(t * FPS))
    jx, jy = rng.uniform(-80, 80, size=2), rng.uniform(-30, 30, size=2)
    if t < 1.5:
        jx, jy = np.zeros(2), np.zeros(2)
    return [
        Sprite("biden.jpg", 220, 270 + jx[0], 350 + jy[0]),
        Sprite("obama3.jpg", 210, 370 + jx[1], 345 + jy[1]),
    ]


# --- audio ------------------------------------------------------------------------------


def speech(text: str, amplitude: int) -> NDArray[np.float32]:
    """espeak-ng speaking ``text`` at ``amplitude`` (0..200), 16 kHz mono float32."""
    raw = subprocess.run(
        ["espeak-ng", "-a", str(amplitude), "-s", "150", "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(raw)) as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    samples = pcm.astype(np.float32) / 32768.0
    positions = np.arange(0, samples.size, rate / RATE)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def silence(seconds: float) -> NDArray[np.float32]:
    return np.zeros(round(seconds * RATE), dtype=np.float32)


def noise(seconds: float, dbfs: float, seed: int = 3) -> NDArray[np.float32]:
    rms = 10 ** (dbfs / 20)
    return (np.random.default_rng(seed).normal(0, rms, round(seconds * RATE))).astype(np.float32)


def write_wav(path: Path, samples: NDArray[np.float32]) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())
    return path
