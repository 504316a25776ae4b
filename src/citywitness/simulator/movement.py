"""Officers moving along the street graph: on foot or by car, with GNSS noise.

Walkers keep 1.1-1.7 m/s and stop now and then (talking to someone, writing a ticket);
drivers keep 7-14 m/s on main roads and 4-8 m/s on side streets and stop at junctions.
At each junction the next street is chosen at random, avoiding a U-turn unless it is a dead
end; drivers prefer main roads.  Fixes carry Gaussian noise of their stated accuracy; now
and then the fix degrades to `network` (urban canyon).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from citywitness.simulator.city import EARTH_M_PER_DEG, City, Street

WALK_SPEED = (1.1, 1.7)
DRIVE_SPEED = {"main": (7.0, 14.0), "side": (4.0, 8.0)}


@dataclass(frozen=True)
class Fix:
    """One position as a recorder reports it."""

    lat: float
    lon: float
    accuracy_m: float
    speed_mps: float
    heading_deg: float
    fix: str
    at: datetime

    def as_message(self) -> dict[str, object]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "accuracy_m": self.accuracy_m,
            "speed_mps": self.speed_mps,
            "heading_deg": self.heading_deg,
            "fix": self.fix,
            "at": self.at.isoformat().replace("+00:00", "Z"),
        }


class Mover:
    """One officer's position on the street graph, advanced by `step(seconds)`."""

    def __init__(self, city: City, rng: random.Random, *, start: int, driving: bool) -> None:
        self.city = city
        self.rng = rng
        self.driving = driving
        self.here = start
        self.previous = -1
        self.there, self.street = self._choose()
        self.along = 0.0  # metres from `here` towards `there`
        self.speed = self._speed()
        self.pause = 0.0
        self.constellation = rng.choice(("beidou", "gps", "mixed", "beidou"))

    def _choose(self) -> tuple[int, Street]:
        options = self.city.neighbours(self.here)
        onward = [o for o in options if o[0] != self.previous] or options
        if self.driving:
            mains = [o for o in onward if o[1].kind == "main"]
            if mains and self.rng.random() < 0.7:
                onward = mains
        return self.rng.choice(onward)

    def _speed(self) -> float:
        low, high = DRIVE_SPEED[self.street.kind] if self.driving else WALK_SPEED
        return self.rng.uniform(low, high)

    def step(self, seconds: float) -> None:
        left = seconds
        while left > 0:
            if self.pause > 0:
                used = min(self.pause, left)
                self.pause -= used
                left -= used
                continue
            remaining = self.street.length_m - self.along
            travel = self.speed * left
            if travel < remaining:
                self.along += travel
                return
            left -= remaining / self.speed
            self.previous, self.here = self.here, self.there
            self.there, self.street = self._choose()
            self.along = 0.0
            self.speed = self._speed()
            stop_chance = 0.25 if self.driving else 0.08
            if self.rng.random() < stop_chance:
                self.pause = self.rng.uniform(5, 25) if self.driving else self.rng.uniform(10, 90)

    @property
    def moving_speed(self) -> float:
        return 0.0 if self.pause > 0 else self.speed

    def true_position(self) -> tuple[float, float]:
        a, b = self.city.nodes[self.here], self.city.nodes[self.there]
        share = self.along / self.street.length_m if self.street.length_m else 0.0
        return a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share

    def heading(self) -> float:
        a, b = self.city.nodes[self.here], self.city.nodes[self.there]
        north = (b[0] - a[0]) * EARTH_M_PER_DEG
        east = (b[1] - a[1]) * EARTH_M_PER_DEG * math.cos(math.radians(a[0]))
        return round(math.degrees(math.atan2(east, north)) % 360.0, 1) % 360.0

    def fix(self, at: datetime) -> Fix:
        """A noisy fix of where the officer is now."""
        lat, lon = self.true_position()
        if self.rng.random() < 0.03:
            kind, accuracy = "network", self.rng.uniform(40, 150)
        else:
            kind, accuracy = self.constellation, self.rng.uniform(2.5, 9.0)
        north, east = self.rng.gauss(0, accuracy), self.rng.gauss(0, accuracy)
        lat += north / EARTH_M_PER_DEG
        lon += east / (EARTH_M_PER_DEG * math.cos(math.radians(lat)))
        return Fix(
            lat=round(lat, 7),
            lon=round(lon, 7),
            accuracy_m=round(accuracy, 1),
            speed_mps=round(self.moving_speed, 2),
            heading_deg=self.heading(),
            fix=kind,
            at=at,
        )
