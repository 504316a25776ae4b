"""A short test clip for redaction: two real faces (photos from the face_recognition sdist),
a licence plate drawn with Pillow, and a 440 Hz tone, encoded with PyAV (H.264 + AAC)."""

from __future__ import annotations

import io
import math
import tarfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

SDIST = Path(__file__).resolve().parents[2] / ".cache/testdata/face_recognition-1.3.0.tar.gz"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
PLATE_TEXT = "KX 4821"
WIDTH, HEIGHT, FPS = 640, 480, 25
RATE = 48_000
TONE_HZ = 440.0


@dataclass(frozen=True)
class Clip:
    path: Path
    frames: int
    seconds: float
    plate: tuple[int, int, int, int]  # pixel box of the plate (x0, y0, x1, y1)


def photo(name: str, height: int) -> Image.Image:
    with tarfile.open(SDIST) as tar:
        member = tar.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
        assert member is not None
        image = Image.open(io.BytesIO(member.read())).convert("RGB")
    width = round(image.width * height / image.height)
    return image.resize((width, height), Image.Resampling.LANCZOS)


def plate(text: str = PLATE_TEXT) -> Image.Image:
    image = Image.new("RGB", (220, 56), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 219, 55), outline=(20, 20, 20), width=4)
    draw.text((110, 28), text, font=ImageFont.truetype(FONT, 38), fill=(10, 10, 10), anchor="mm")
    return image


def _background() -> Image.Image:
    ramp = np.linspace(90, 160, WIDTH, dtype=np.uint8)
    base = np.repeat(np.repeat(ramp[None, :, None], HEIGHT, axis=0), 3, axis=2)
    return Image.fromarray(base)


def frames(count: int) -> list[NDArray[np.uint8]]:
    left, right, sign = photo("obama.jpg", 230), photo("biden.jpg", 300), plate()
    background = _background()
    made = []
    for i in range(count):
        canvas = background.copy()
        canvas.paste(left, (20 + i, 30))
        canvas.paste(right, (380 - i // 2, 20))
        canvas.paste(sign, (210, 400))
        made.append(np.asarray(canvas))
    return made


def _tone(seconds: float) -> NDArray[np.float32]:
    t = np.arange(round(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * math.pi * TONE_HZ * t)).astype(np.float32)


def make_clip(path: Path, seconds: float = 2.0) -> Clip:
    """An MP4 of ``seconds`` at 640x480, 25 fps, H.264 + mono AAC (a steady tone)."""
    count = round(seconds * FPS)
    with av.open(str(path), mode="w", format="mp4") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"preset": "veryfast", "crf": "18"}
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        for i, image in enumerate(frames(count)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        samples = _tone(seconds)
        for pos in range(0, samples.size, 1024):
            chunk = samples[None, pos : pos + 1024]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = RATE, pos, Fraction(1, RATE)
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return Clip(path, count, seconds, (210, 400, 430, 456))


def decoded(path: Path) -> list[NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def audio_of(path: Path) -> tuple[NDArray[np.float32], int]:
    """The first audio stream as mono float32 samples, and its rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks = [
            f.to_ndarray()[0]
            for frame in container.decode(stream)
            for f in resampler.resample(frame)
        ]
    return np.concatenate(chunks).astype(np.float32), rate
