"""A street scene drawn frame by frame (Pillow): what a body-worn camera on patrol sees.

Buildings and a sidewalk behind a road; vehicles seen from behind drift across the frame
with their license plate large enough to read (about 130-150 px wide at 640x360); simple
people figures walk along the sidewalk; a body-camera overlay (time and serial) sits at the
top.  Every frame also says which plates are fully visible (inside the frame and not
hidden behind a nearer vehicle) and where: that ground truth
goes with each segment (docs/simulator.md).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from PIL import Image, ImageDraw

from citywitness.simulator.plates import Plate, latin_font, random_plate, render_plate

VEHICLE_COLOURS = ((200, 30, 30), (30, 30, 30), (230, 230, 230), (40, 80, 160), (150, 150, 150))
CLOTHES = ((30, 40, 90), (120, 30, 30), (40, 100, 40), (60, 60, 60), (200, 160, 40))
SKIN = ((236, 200, 170), (210, 170, 130), (160, 120, 90))


@dataclass(frozen=True)
class Sighting:
    """A plate fully inside the frame: its box (x, y, w, h) in pixels."""

    plate: Plate
    box: tuple[int, int, int, int]


def _covers(sprite: tuple[int, int, int, int], plate: tuple[int, int, int, int]) -> bool:
    """Whether a sprite's rectangle overlaps a plate box (both x, y, w, h)."""
    sx, sy, sw, sh = sprite
    px, py, pw, ph = plate
    return sx < px + pw and px < sx + sw and sy < py + ph and py < sy + sh


@dataclass
class _Vehicle:
    plate: Plate
    sprite: Image.Image
    x: float
    y: int
    speed: float  # px/s, signed
    plate_box: tuple[int, int, int, int]  # within the sprite


@dataclass
class _Person:
    x: float
    y: int
    speed: float
    clothes: tuple[int, int, int]
    skin: tuple[int, int, int]
    phase: float = 0.0


@dataclass
class SceneRenderer:
    """Deterministic for a seed: the same seed draws the same frames."""

    seed: int
    label: str = "CW-SIM"
    width: int = 640
    height: int = 360
    fps: int = 10
    province: str = "沪"
    rng: random.Random = field(init=False)
    background: Image.Image = field(init=False)
    vehicles: list[_Vehicle] = field(default_factory=list, init=False)
    people: list[_Person] = field(default_factory=list, init=False)
    next_vehicle_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.background = self._background()
        self.road_top = int(self.height * 0.55)
        self.people = [self._person(self.rng.uniform(0, self.width)) for _ in range(3)]

    def _background(self) -> Image.Image:
        w, h = self.width, self.height
        image = Image.new("RGB", (w, h), (150, 185, 220))
        draw = ImageDraw.Draw(image)
        x = 0
        while x < w:
            bw, bh = self.rng.randint(60, 140), self.rng.randint(int(h * 0.25), int(h * 0.5))
            tone = self.rng.randint(110, 200)
            top = int(h * 0.5) - bh
            draw.rectangle((x, top, x + bw, int(h * 0.5)), fill=(tone, tone - 10, tone - 25))
            for wy in range(top + 8, int(h * 0.5) - 10, 18):
                for wx in range(x + 6, x + bw - 10, 16):
                    lit = self.rng.random() < 0.3
                    draw.rectangle(
                        (wx, wy, wx + 8, wy + 10), fill=(240, 220, 120) if lit else (60, 70, 90)
                    )
            x += bw + self.rng.randint(0, 12)
        draw.rectangle((0, int(h * 0.5), w, int(h * 0.55)), fill=(170, 165, 160))  # sidewalk
        draw.rectangle((0, int(h * 0.55), w, h), fill=(70, 70, 75))  # road
        for lx in range(0, w, 80):
            draw.rectangle((lx, int(h * 0.72), lx + 40, int(h * 0.72) + 4), fill=(230, 230, 230))
        return image

    def _person(self, x: float) -> _Person:
        return _Person(
            x=x,
            y=int(self.height * 0.53),
            speed=self.rng.choice((-1, 1)) * self.rng.uniform(15, 35),
            clothes=self.rng.choice(CLOTHES),
            skin=self.rng.choice(SKIN),
        )

    def _vehicle(self) -> _Vehicle:
        plate = random_plate(self.rng, province=self.province)
        vw = self.rng.randint(200, 236)
        vh = int(vw * 0.62)
        sprite = Image.new("RGBA", (vw, vh), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        body = self.rng.choice(VEHICLE_COLOURS)
        draw.rounded_rectangle((0, int(vh * 0.12), vw - 1, vh - 12), radius=18, fill=body)
        draw.rounded_rectangle(
            (int(vw * 0.12), 0, int(vw * 0.88), int(vh * 0.45)), radius=14, fill=body
        )
        draw.rectangle((int(vw * 0.18), 8, int(vw * 0.82), int(vh * 0.4)), fill=(40, 50, 70))
        draw.rectangle((8, int(vh * 0.5), 40, int(vh * 0.62)), fill=(220, 30, 30))  # lights
        draw.rectangle((vw - 41, int(vh * 0.5), vw - 9, int(vh * 0.62)), fill=(220, 30, 30))
        draw.rectangle((14, vh - 14, 50, vh - 1), fill=(15, 15, 15))  # tyres
        draw.rectangle((vw - 51, vh - 14, vw - 15, vh - 1), fill=(15, 15, 15))
        pw = int(vw * 0.64)
        ph = round(pw * 100 / 330)
        picture = render_plate(plate).resize((pw, ph), Image.Resampling.LANCZOS)
        px, py = (vw - pw) // 2, int(vh * 0.66)
        sprite.paste(picture, (px, py))
        from_left = self.rng.random() < 0.5
        speed = self.rng.uniform(35, 70)
        return _Vehicle(
            plate=plate,
            sprite=sprite,
            x=-vw if from_left else self.width,
            y=self.height - vh - self.rng.randint(6, 24),
            speed=speed if from_left else -speed,
            plate_box=(px, py, pw, ph),
        )

    def _advance(self, t: float, dt: float) -> None:
        if t >= self.next_vehicle_s and len(self.vehicles) < 2:
            self.vehicles.append(self._vehicle())
            self.next_vehicle_s = t + self.rng.uniform(4, 9)
        for v in self.vehicles:
            v.x += v.speed * dt
        self.vehicles = [v for v in self.vehicles if -v.sprite.width - 1 <= v.x <= self.width + 1]
        for p in self.people:
            p.x += p.speed * dt
            p.phase += dt * 6
            if p.x < -20 or p.x > self.width + 20:
                p.x, p.speed = (self.width + 10, -abs(p.speed)) if p.x < 0 else (-10, abs(p.speed))

    def _draw_person(self, draw: ImageDraw.ImageDraw, p: _Person) -> None:
        x, y = int(p.x), p.y
        stride = 6 * (1 if int(p.phase) % 2 else -1)
        draw.line((x, y - 22, x - stride, y), fill=(30, 30, 40), width=4)  # legs
        draw.line((x, y - 22, x + stride, y), fill=(30, 30, 40), width=4)
        draw.rectangle((x - 7, y - 48, x + 7, y - 22), fill=p.clothes)  # body
        draw.ellipse((x - 7, y - 64, x + 7, y - 49), fill=p.skin)  # head
        draw.point([(x - 3, y - 58), (x + 3, y - 58)], fill=(20, 20, 20))

    def frame(self, index: int, when: datetime) -> tuple[Image.Image, list[Sighting]]:
        """Frame `index` (call in order) and the plates fully visible in it."""
        dt = 1 / self.fps
        self._advance(index * dt, dt if index else 0.0)
        image = self.background.copy()
        draw = ImageDraw.Draw(image)
        for p in self.people:
            self._draw_person(draw, p)
        seen: list[Sighting] = []
        for v in sorted(self.vehicles, key=lambda v: v.y):
            x = round(v.x)
            image.paste(v.sprite, (x, v.y), v.sprite)
            # a vehicle drawn later (nearer) hides the plates it covers
            seen = [s for s in seen if not _covers((x, v.y, *v.sprite.size), s.box)]
            px, py, pw, ph = v.plate_box
            if x + px >= 0 and x + px + pw <= self.width:
                seen.append(Sighting(v.plate, (x + px, v.y + py, pw, ph)))
        stamp = f"{when.strftime('%Y-%m-%d %H:%M:%S')}  {self.label}"
        draw.rectangle((0, 0, self.width, 20), fill=(0, 0, 0))
        draw.text((6, 3), stamp, fill=(255, 255, 255), font=latin_font(13))
        return image, seen
