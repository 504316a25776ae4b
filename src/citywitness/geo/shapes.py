"""GeoJSON zones (pure): validation and point-in-polygon, without PostGIS or shapely.

A zone is a GeoJSON `Polygon` or `MultiPolygon` (RFC 7946) in WGS 84 longitude/latitude:
each ring has at least 4 positions, is closed (first == last), every position is
[lon, lat] within range, and a zone holds at most `MAX_VERTICES` positions.  The first ring
of a polygon is its outline, the others are holes.  A point on an edge counts as inside.
Zones are city-sized, so planar geometry on degrees is exact enough (no antimeridian).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

MAX_VERTICES = 2_000

Ring = tuple[tuple[float, float], ...]
Polygon = tuple[Ring, ...]


class InvalidZone(ValueError):
    """The GeoJSON is not a valid zone; `field` names where (for a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ring(raw: Any, where: str) -> Ring:
    if not isinstance(raw, list) or len(raw) < 4:
        raise InvalidZone(where, "a ring needs at least 4 positions")
    ring: list[tuple[float, float]] = []
    for i, pos in enumerate(raw):
        if not isinstance(pos, list) or len(pos) not in (2, 3) or not all(map(_number, pos)):
            raise InvalidZone(f"{where}.{i}", "a position is [lon, lat]")
        lon, lat = float(pos[0]), float(pos[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InvalidZone(f"{where}.{i}", "lon must be in -180..180 and lat in -90..90")
        ring.append((lon, lat))
    if ring[0] != ring[-1]:
        raise InvalidZone(where, "a ring must be closed (first position == last)")
    if len(set(ring)) < 3:
        raise InvalidZone(where, "a ring needs at least 3 distinct positions")
    return tuple(ring)


def _polygon(raw: Any, where: str) -> Polygon:
    if not isinstance(raw, list) or not raw:
        raise InvalidZone(where, "a polygon is a non-empty list of rings")
    return tuple(_ring(r, f"{where}.{i}") for i, r in enumerate(raw))


def parse_zone(geometry: Any) -> list[Polygon]:
    """The polygons of a GeoJSON Polygon or MultiPolygon; InvalidZone otherwise."""
    if not isinstance(geometry, dict):
        raise InvalidZone("geometry", "a GeoJSON object")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    extra = set(geometry) - {"type", "coordinates", "bbox"}
    if extra:
        raise InvalidZone("geometry", f"unknown members: {', '.join(sorted(extra))}")
    if kind == "Polygon":
        polygons = [_polygon(coords, "geometry.coordinates")]
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise InvalidZone("geometry.coordinates", "a non-empty list of polygons")
        polygons = [_polygon(p, f"geometry.coordinates.{i}") for i, p in enumerate(coords)]
    else:
        raise InvalidZone("geometry.type", "Polygon or MultiPolygon")
    if sum(len(r) for p in polygons for r in p) > MAX_VERTICES:
        raise InvalidZone("geometry.coordinates", f"at most {MAX_VERTICES} positions")
    return polygons


def _on_segment(x: float, y: float, a: tuple[float, float], b: tuple[float, float]) -> bool:
    (x1, y1), (x2, y2) = a, b
    if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) != 0:
        return False
    return min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2)


def _in_ring(x: float, y: float, ring: Ring) -> bool | None:
    """Ray casting: True inside, False outside, None exactly on the boundary."""
    inside = False
    for a, b in itertools.pairwise(ring):
        if _on_segment(x, y, a, b):
            return None
        (x1, y1), (x2, y2) = a, b
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


@dataclass(frozen=True)
class Zone:
    """A parsed zone with its bounding box, for fast tests of many points."""

    polygons: tuple[Polygon, ...]
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat

    @classmethod
    def from_geojson(cls, geometry: Any) -> Zone:
        polygons = parse_zone(geometry)
        xs = [x for p in polygons for r in p for x, _ in r]
        ys = [y for p in polygons for r in p for _, y in r]
        return cls(tuple(polygons), (min(xs), min(ys), max(xs), max(ys)))

    def contains(self, lon: float, lat: float) -> bool:
        """Whether (lon, lat) lies in the zone (its boundary included, holes excluded)."""
        min_x, min_y, max_x, max_y = self.bbox
        if not (min_x <= lon <= max_x and min_y <= lat <= max_y):
            return False
        for outline, *holes in self.polygons:
            where = _in_ring(lon, lat, outline)
            if where is False:
                continue
            if where is None:
                return True
            if not any(_in_ring(lon, lat, hole) for hole in holes):
                return True
        return False
