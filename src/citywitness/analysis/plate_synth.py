"""Synthetic license plates and street-like scenes for test sets and benchmarks.

Plates are drawn with Pillow in real fonts (Noto Sans CJK Bold for Chinese, DejaVu Sans Bold
for Latin; Debian ``fonts-noto-cjk`` and ``fonts-dejavu-core``) in each style the analyzer
reads: Chinese blue, yellow, green new-energy and white police plates; German, French, Dutch
and British plates (EU band on the left; British rear plates are yellow); a US
(California-style) plate. ``scene`` pastes a plate onto a vehicle-like block in a noisy
frame, rotated, blurred and with Gaussian noise, and says where it is.

These are synthetic: glyph shapes, proportions and colours follow the real formats only
roughly, and there is no glare, dirt, night, motion blur or perspective beyond a small
rotation. Accuracy measured on them is an upper bound for real footage.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
_CJK_SC_INDEX = 2  # the Simplified Chinese face inside the .ttc

STYLES = ("cn_blue", "cn_yellow", "cn_green", "cn_police", "de", "fr", "nl", "gb", "us")
PROVINCES = "京津沪渝冀豫苏浙粤川鲁鄂湘闽皖辽"
CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
LATIN = "ABCDEFGHJKLMNPRSTVWXYZ"
DIGITS = "0123456789"

# style: (background, glyph colour, colour class, country, grammar format)
LOOK: dict[str, tuple[tuple[int, int, int], tuple[int, int, int], str, str, str]] = {
    "cn_blue": ((18, 70, 190), (250, 250, 250), "blue", "CN", "cn_standard"),
    "cn_yellow": ((245, 195, 20), (15, 15, 15), "yellow", "CN", "cn_standard"),
    "cn_green": ((90, 200, 120), (15, 15, 15), "green", "CN", "cn_new_energy"),
    "cn_police": ((245, 245, 245), (15, 15, 15), "white", "CN", "cn_police"),
    "de": ((248, 248, 248), (15, 15, 15), "white", "DE", "de"),
    "fr": ((248, 248, 248), (15, 15, 15), "white", "FR", "fr_siv"),
    "nl": ((250, 190, 20), (15, 15, 15), "yellow", "NL", "nl"),
    "gb": ((250, 200, 30), (15, 15, 15), "yellow", "GB", "gb"),
    "us": ((246, 246, 246), (25, 35, 120), "white", "US", "us"),
}


class FontsMissing(RuntimeError):
    """The Debian fonts the renderer needs are not installed."""


@dataclass(frozen=True, slots=True)
class SynthPlate:
    """A generated plate: normalised text, printed form and what the analyzer should say."""

    style: str
    text: str
    display: str
    colour: str
    country: str
    format: str


def _pick(rng: random.Random, alphabet: str, count: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(count))


def _cn_display(rng: random.Random, style: str) -> str:
    head = rng.choice(PROVINCES) + rng.choice(CN_LETTERS[:10])
    if style == "cn_green":
        return f"{head}·{rng.choice('DF')}{_pick(rng, DIGITS, 5)}"
    if style == "cn_police":
        return f"{head}·{_pick(rng, DIGITS, 4)}警"
    tail = list(_pick(rng, DIGITS, 3) + _pick(rng, CN_LETTERS + DIGITS, 2))
    rng.shuffle(tail)
    return f"{head}·{''.join(tail)}"


def random_plate(rng: random.Random, style: str) -> SynthPlate:
    """A random plate of ``style`` (one of ``STYLES``)."""
    _, _, colour, country, fmt = LOOK[style]
    if style.startswith("cn_"):
        display = _cn_display(rng, style)
    elif style == "de":
        city, letters = _pick(rng, LATIN, rng.randint(1, 3)), _pick(rng, LATIN, rng.randint(1, 2))
        used = len(city) + len(letters)
        digits = rng.randint(max(1, 5 - used), min(4, 8 - used))  # 5 to 8 characters
        display = f"{city} {letters} {rng.choice('123456789')}{_pick(rng, DIGITS, digits - 1)}"
    elif style == "fr":
        display = f"{_pick(rng, LATIN, 2)}-{_pick(rng, DIGITS, 3)}-{_pick(rng, LATIN, 2)}"
    elif style == "nl":
        display = f"{_pick(rng, DIGITS, 2)}-{_pick(rng, LATIN, 3)}-{_pick(rng, DIGITS, 1)}"
    elif style == "gb":
        display = f"{_pick(rng, LATIN, 2)}{_pick(rng, DIGITS, 2)} {_pick(rng, LATIN, 3)}"
    else:
        display = rng.choice("123456789") + _pick(rng, LATIN, 3) + _pick(rng, DIGITS, 3)
    text = display.replace("·", "").replace("-", "").replace(" ", "")
    return SynthPlate(style, text, display, colour, country, fmt)


@functools.cache
def _font(kind: str, size: int) -> ImageFont.FreeTypeFont:
    path = CJK_FONT if kind == "cjk" else LATIN_FONT
    if not path.exists():
        raise FontsMissing(f"{path} is missing (Debian fonts-noto-cjk / fonts-dejavu-core)")
    index = _CJK_SC_INDEX if kind == "cjk" else 0
    return ImageFont.truetype(str(path), size, index=index)


def _text_strip(display: str, height: int, colour: tuple[int, int, int]) -> Image.Image:
    """The plate's characters on a transparent strip ``height`` high (police 警 in red)."""
    latin = _font("latin", int(height * 0.92))
    cjk = _font("cjk", int(height * 0.86))
    strip = Image.new("RGBA", (height * len(display) + 20, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(strip)
    _, top, _, bottom = draw.textbbox((0, 0), "0", font=latin)
    x = 0
    for char in display:
        if char == " ":
            x += height // 3
            continue
        if char == "·":
            r = max(2, height // 12)
            draw.ellipse((x + 2, height // 2 - r, x + 2 + 2 * r, height // 2 + r), fill=colour)
            x += 2 * r + 6
            continue
        font = latin if char.isascii() else cjk
        fill = (210, 20, 20) if char == "警" else colour
        left, c_top, right, c_bottom = draw.textbbox((0, 0), char, font=font)
        if char.isascii():  # Latin glyphs share one baseline
            y = (height - (bottom - top)) // 2 - top
        else:
            y = (height - (c_bottom - c_top)) // 2 - c_top
        draw.text((x - left, y), char, fill=(*fill, 255), font=font)
        x += int(right - left) + max(2, height // 14)
    return strip.crop((0, 0, max(1, x), height))


def render_plate(plate: SynthPlate, width: int = 440) -> Image.Image:
    """The plate as an RGB picture ``width`` pixels wide (aspect ratio about 3.4:1)."""
    background, colour, _, _, _ = LOOK[plate.style]
    height = round(width / 3.4)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    if plate.style == "cn_green":  # new-energy plates fade from green to white
        for y in range(height):
            share = y / height * 0.7
            shade = tuple(int(c + (250 - c) * share) for c in background)
            draw.line((0, y, width, y), fill=shade)
    left, right = int(width * 0.04), int(width * 0.04)
    if plate.style in ("de", "fr", "nl", "gb"):
        band = int(width * 0.09)
        draw.rectangle((0, 0, band, height), fill=(25, 60, 170))
        left = band + int(width * 0.03)
    top = int(height * 0.17)
    strip = _text_strip(plate.display, height - 2 * top, colour)
    room = width - left - right
    if strip.width > room:
        strip = strip.resize((room, strip.height), Image.Resampling.LANCZOS)
    image.paste(strip, (left + (room - strip.width) // 2, top), strip)
    border = (230, 230, 230) if plate.style == "cn_blue" else colour
    edge = max(2, width // 110)
    draw.rectangle((edge, edge, width - 1 - edge, height - 1 - edge), outline=border, width=edge)
    return image


def scene(
    plate: SynthPlate,
    rng: random.Random,
    *,
    size: tuple[int, int] = (640, 360),
    plate_width: int | None = None,
    angle: float | None = None,
    blur: float | None = None,
    noise: float | None = None,
) -> tuple[NDArray[np.uint8], tuple[int, int, int, int]]:
    """An RGB frame with the plate on a vehicle-like block; the plate's box (x, y, w, h).

    Unset degradations are drawn at random: plate 22-35% of the frame width, rotation
    within ±4°, Gaussian blur radius 0-1.2 px, noise sigma 0-10 grey levels.
    """
    width, height = size
    pw = plate_width or int(width * rng.uniform(0.22, 0.35))
    angle = rng.uniform(-4, 4) if angle is None else angle
    blur = rng.uniform(0, 1.2) if blur is None else blur
    noise = rng.uniform(0, 10) if noise is None else noise
    frame = Image.new("RGB", size, tuple(rng.randint(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(frame)
    for _ in range(6):  # background clutter
        x, y = rng.randint(0, width), rng.randint(0, height // 2)
        tone = tuple(rng.randint(40, 230) for _ in range(3))
        draw.rectangle((x, y, x + rng.randint(20, 160), y + rng.randint(20, 120)), fill=tone)
    picture = (
        render_plate(plate, pw)
        .convert("RGBA")
        .rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    )
    px = rng.randint(int(width * 0.05), max(int(width * 0.05), width - picture.width - 10))
    py = rng.randint(height // 2, max(height // 2, height - picture.height - 10))
    body = tuple(rng.randint(20, 220) for _ in range(3))
    draw.rounded_rectangle(
        (px - pw // 2, py - pw // 2, px + picture.width + pw // 2, py + picture.height + 12),
        radius=20,
        fill=body,
    )
    frame.paste(picture, (px, py), picture)
    if blur > 0:
        frame = frame.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(frame, dtype=np.float64)
    if noise > 0:
        pixels = pixels + np.random.default_rng(rng.getrandbits(32)).normal(0, noise, pixels.shape)
    out = np.clip(pixels, 0, 255).astype(np.uint8)
    return out, (px, py, picture.width, picture.height)


def generate_set(
    count: int, *, seed: int = 0, size: tuple[int, int] = (640, 360)
) -> list[tuple[SynthPlate, NDArray[np.uint8], tuple[int, int, int, int]]]:
    """``count`` scenes cycling through every style, deterministic for a seed."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    items = []
    for i in range(count):
        plate = random_plate(rng, STYLES[i % len(STYLES)])
        image, box = scene(plate, rng, size=size)
        items.append((plate, image, box))
    return items
