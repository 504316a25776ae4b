"""License plates for the simulated street scenes: numbers by national grammar, and pictures.

Chinese plates (GA 36): blue (small cars, `沪A·12345`), yellow (large vehicles), green
new-energy (8 characters, `沪A·D12345`) and white police (`沪A·1234警`); Latin plates: EU
(French-style `AB-123-CD` with the blue band) and US (California-style `7ABC123`).
Province characters come from embedded bitmaps (`glyphs.py`), Latin text from DejaVu Sans
Bold where Debian's `fonts-dejavu-core` is installed, else Pillow's own scalable font.
"""

from __future__ import annotations

import base64
import functools
import random
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from citywitness.simulator import glyphs

CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on Chinese plates
LATIN_LETTERS = "ABCDEFGHJKLMNPRSTVWXYZ"
DIGITS = "0123456789"
PROVINCES = "京津沪渝冀豫苏浙粤川鲁鄂湘闽皖辽"
KINDS = ("cn_blue", "cn_yellow", "cn_green", "cn_police", "eu", "us")
WEIGHTS = (40, 10, 20, 4, 13, 13)
FONT_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
)

# (background, text colour) per kind
COLOURS = {
    "cn_blue": ((16, 72, 190), (255, 255, 255)),
    "cn_yellow": ((250, 200, 20), (10, 10, 10)),
    "cn_green": ((120, 210, 140), (10, 10, 10)),
    "cn_police": ((245, 245, 245), (10, 10, 10)),
    "eu": ((250, 250, 250), (15, 15, 15)),
    "us": ((248, 248, 248), (20, 30, 110)),
}


@dataclass(frozen=True)
class Plate:
    """A plate: `text` is canonical (no separators), `display` as printed on the plate."""

    kind: str
    text: str
    display: str


def _pick(rng: random.Random, alphabet: str, count: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(count))


def random_plate(rng: random.Random, *, province: str = "沪") -> Plate:
    """A plate of a random kind (weighted towards Chinese blue plates)."""
    kind = rng.choices(KINDS, weights=WEIGHTS)[0]
    city = rng.choice(CN_LETTERS[:8])
    if kind in ("cn_blue", "cn_yellow"):
        tail = _pick(rng, DIGITS, 3) + _pick(rng, CN_LETTERS + DIGITS * 3, 2)
        tail = "".join(rng.sample(tail, len(tail)))
        return Plate(kind, f"{province}{city}{tail}", f"{province}{city}·{tail}")
    if kind == "cn_green":
        tail = rng.choice("DF") + _pick(rng, DIGITS, 5)
        return Plate(kind, f"{province}{city}{tail}", f"{province}{city}·{tail}")
    if kind == "cn_police":
        tail = _pick(rng, DIGITS, 4)
        return Plate(kind, f"{province}{city}{tail}警", f"{province}{city}·{tail}警")
    if kind == "eu":
        a, n, b = _pick(rng, LATIN_LETTERS, 2), _pick(rng, DIGITS, 3), _pick(rng, LATIN_LETTERS, 2)
        return Plate(kind, f"{a}{n}{b}", f"{a}-{n}-{b}")
    text = rng.choice("123456789") + _pick(rng, LATIN_LETTERS, 3) + _pick(rng, DIGITS, 3)
    return Plate(kind, text, text)


@functools.cache
def latin_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


@functools.cache
def glyph(char: str) -> Image.Image:
    data = zlib.decompress(base64.b64decode(glyphs.GLYPHS[char]))
    return Image.frombytes("L", (glyphs.SIZE, glyphs.SIZE), data)


PLATE_W, PLATE_H = 330, 100


def _draw_text(image: Image.Image, text: str, colour: tuple[int, int, int]) -> int:
    """Draw `text` on an RGBA strip from x=0, vertically centred; the width used.

    CJK characters come from the bitmaps (a police plate's 警 in red)."""
    draw = ImageDraw.Draw(image)
    height = image.height
    font = latin_font(int(height * 0.7))
    x = 0
    for char in text:
        if char in glyphs.GLYPHS:
            size = int(height * 0.8)
            mask = glyph(char).resize((size, size), Image.Resampling.LANCZOS)
            fill = (200, 20, 20, 255) if char == "警" else (*colour, 255)
            image.paste(Image.new("RGBA", mask.size, fill), (x, (height - size) // 2), mask)
            x += size + 2
        elif char == "·":
            radius = max(2, height // 22)
            cy = height // 2
            draw.ellipse((x + 2, cy - radius, x + 2 + 2 * radius, cy + radius), fill=colour)
            x += 2 * radius + 6
        else:
            _, top, _, bottom = draw.textbbox((0, 0), "0", font=font)  # one baseline
            left, _, right, _ = draw.textbbox((0, 0), char, font=font)
            draw.text(
                (x - left, (height - (bottom - top)) // 2 - top), char, fill=colour, font=font
            )
            x += int(right - left) + 3
    return x


@functools.cache
def render_plate(plate: Plate) -> Image.Image:
    """The plate as an RGB picture of PLATE_W x PLATE_H pixels (cached)."""
    background, colour = COLOURS[plate.kind]
    image = Image.new("RGB", (PLATE_W, PLATE_H), background)
    draw = ImageDraw.Draw(image)
    if plate.kind == "cn_green":  # new-energy plates fade from green to white
        for y in range(PLATE_H):
            share = y / PLATE_H * 0.8
            draw.line(
                (0, y, PLATE_W, y), fill=tuple(int(c + (250 - c) * share) for c in background)
            )
    left = 14
    if plate.kind == "eu":
        draw.rectangle((0, 0, 34, PLATE_H), fill=(20, 60, 170))
        left = 44
    inner_h = PLATE_H - 20
    strip = Image.new("RGBA", (PLATE_W * 2, inner_h), (0, 0, 0, 0))
    width = _draw_text(strip, plate.display, colour)
    strip = strip.crop((0, 0, max(1, width), inner_h))
    target = PLATE_W - left - 14
    if strip.width > target:
        strip = strip.resize((target, inner_h), Image.Resampling.LANCZOS)
    x = left + max(0, (target - strip.width) // 2)
    image.paste(strip, (x, 10), strip)
    border = (235, 235, 235) if plate.kind == "cn_blue" else colour
    draw.rectangle((2, 2, PLATE_W - 3, PLATE_H - 3), outline=border, width=3)
    return image
