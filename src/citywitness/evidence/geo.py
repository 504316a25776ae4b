"""GPS tracks of evidence items: parsing (GeoJSON or a list of points), bounding boxes, and
the distance filters search uses (haversine in SQL; no PostGIS)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal

Track = dict[str, Any]
MAX_POINTS = 20_000
EARTH_RADIUS_M = 6_371_008.8


def _point(raw: Any) -> list[float]:
    if isinstance(raw, dict):
        raw = [raw.get("lon", raw.get("lng")), raw.get("lat")]
    if not isinstance(raw, list | tuple) or len(raw) < 2:
        raise ValueError("a point is [lon, lat] or {lat, lon}")
    lon, lat = raw[0], raw[1]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
        raise ValueError("coordinates are numbers")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or math.isnan(lon) or math.isnan(lat):
        raise ValueError("longitude within ±180 and latitude within ±90")
    return [float(lon), float(lat)]


def parse_track(value: Any) -> Track:
    """A GeoJSON Point or LineString (or a JSON list of points), as a GeoJSON geometry."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("GeoJSON or a JSON list of points") from None
    if isinstance(value, list):
        value = {"type": "LineString", "coordinates": value}
    if not isinstance(value, dict) or value.get("type") not in {"Point", "LineString"}:
        raise ValueError("a GeoJSON Point or LineString")
    coordinates = value.get("coordinates")
    if value["type"] == "Point":
        return {"type": "Point", "coordinates": _point(coordinates)}
    if not isinstance(coordinates, list) or not coordinates:
        raise ValueError("a LineString has at least one point")
    if len(coordinates) > MAX_POINTS:
        raise ValueError(f"at most {MAX_POINTS} points")
    return {"type": "LineString", "coordinates": [_point(p) for p in coordinates]}


@dataclass(frozen=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def bounding_box(track: Track | None) -> BoundingBox | None:
    if track is None:
        return None
    points = [track["coordinates"]] if track["type"] == "Point" else track["coordinates"]
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return BoundingBox(min(lats), max(lats), min(lons), max(lons))


def _pg_box(min_lon: Any, min_lat: Any, max_lon: Any, max_lat: Any) -> ColumnElement[Any]:
    return func.box(func.point(min_lon, min_lat), func.point(max_lon, max_lat))


def box_overlaps(box: BoundingBox, columns: Any) -> ColumnElement[bool]:
    """SQL: the item's box (columns min_lat.. of the model) overlaps `box`.

    The `&&` of PostgreSQL boxes is what the GiST index ix_evidence_items_box answers (its
    expression is the item's box as written here); the plain comparisons state the same
    overlap exactly and keep the filter right for any plan.
    """
    item_box = _pg_box(columns.min_lon, columns.min_lat, columns.max_lon, columns.max_lat)
    search_box = _pg_box(
        literal(box.min_lon), literal(box.min_lat), literal(box.max_lon), literal(box.max_lat)
    )
    return and_(
        item_box.op("&&")(search_box),
        columns.min_lat <= box.max_lat,
        columns.max_lat >= box.min_lat,
        columns.min_lon <= box.max_lon,
        columns.max_lon >= box.min_lon,
    )


def radius_box(lat: float, lon: float, radius_m: float) -> BoundingBox:
    """A box that contains the circle (the index-friendly pre-filter)."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    dlon = min(180.0, math.degrees(radius_m / (EARTH_RADIUS_M * cos_lat)))
    return BoundingBox(
        max(-90.0, lat - dlat),
        min(90.0, lat + dlat),
        max(-180.0, lon - dlon),
        min(180.0, lon + dlon),
    )


def _haversine_sql(lat: float, lon: float, lat_col: Any, lon_col: Any) -> ColumnElement[float]:
    """Distance in metres from (lat, lon) to (lat_col, lon_col)."""
    rad = math.pi / 180.0
    dlat = (lat_col - literal(lat)) * rad / 2
    dlon = (lon_col - literal(lon)) * rad / 2
    inner = func.power(func.sin(dlat), 2) + math.cos(lat * rad) * func.cos(
        lat_col * rad
    ) * func.power(func.sin(dlon), 2)
    return 2 * EARTH_RADIUS_M * func.asin(func.sqrt(func.least(1.0, inner)))


def within_radius(lat: float, lon: float, radius_m: float, columns: Any) -> ColumnElement[bool]:
    """SQL: some point of the item's box lies within `radius_m` of (lat, lon).

    The nearest point of the box to the centre is the centre clamped into the box; its
    haversine distance decides.  Exact for points, conservative (never misses) for tracks.
    """
    near_lat = func.least(func.greatest(literal(lat), columns.min_lat), columns.max_lat)
    near_lon = func.least(func.greatest(literal(lon), columns.min_lon), columns.max_lon)
    return and_(
        box_overlaps(radius_box(lat, lon, radius_m), columns),
        _haversine_sql(lat, lon, near_lat, near_lon) <= radius_m,
    )


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (for tests and callers outside SQL)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))
