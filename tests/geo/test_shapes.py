"""Zones: GeoJSON validation and point-in-polygon (with holes, boundaries, multipolygons)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywitness.geo.shapes import MAX_VERTICES, InvalidZone, Zone, parse_zone


def square(x0: float, y0: float, size: float) -> list[list[float]]:
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


SQUARE = {"type": "Polygon", "coordinates": [square(121.0, 31.0, 1.0)]}
WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [square(121.0, 31.0, 1.0), square(121.25, 31.25, 0.5)],
}
TWO = {
    "type": "MultiPolygon",
    "coordinates": [[square(0.0, 0.0, 1.0)], [square(10.0, 10.0, 1.0)]],
}


@pytest.mark.parametrize(
    ("geometry", "lon", "lat", "inside"),
    [
        (SQUARE, 121.5, 31.5, True),
        (SQUARE, 122.5, 31.5, False),
        (SQUARE, 121.0, 31.5, True),  # on an edge
        (SQUARE, 121.0, 31.0, True),  # on a corner
        (WITH_HOLE, 121.1, 31.1, True),
        (WITH_HOLE, 121.5, 31.5, False),  # in the hole
        (WITH_HOLE, 121.25, 31.5, True),  # on the hole's edge
        (TWO, 10.5, 10.5, True),
        (TWO, 5.0, 5.0, False),
    ],
)
def test_contains(geometry: dict[str, Any], lon: float, lat: float, inside: bool) -> None:
    assert Zone.from_geojson(geometry).contains(lon, lat) is inside


@pytest.mark.parametrize(
    ("geometry", "field"),
    [
        ({"type": "Point", "coordinates": [1, 2]}, "geometry.type"),
        ({"type": "Polygon", "coordinates": []}, "geometry.coordinates"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "geometry.coordinates.0"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            "geometry.coordinates.0",
        ),  # not closed
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [181, 0], [1, 1], [0, 0]]]},
            "geometry.coordinates.0.1",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 91], [1, 1], [0, 0]]]},
            "geometry.coordinates.0.1",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], ["1", 0], [1, 1], [0, 0]]]},
            "geometry.coordinates.0.1",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [0, 0], [0, 0], [0, 0]]]},
            "geometry.coordinates.0",
        ),
        ({"type": "Polygon", "coordinates": [square(0, 0, 1)], "crs": {}}, "geometry"),
        ({"type": "MultiPolygon", "coordinates": [[]]}, "geometry.coordinates.0"),
        ("not an object", "geometry"),
    ],
)
def test_invalid_zones_name_the_field(geometry: Any, field: str) -> None:
    with pytest.raises(InvalidZone) as caught:
        parse_zone(geometry)
    assert caught.value.field == field


def test_vertex_limit() -> None:
    ring = [[0.0, i / MAX_VERTICES] for i in range(MAX_VERTICES)] + [[1.0, 0.5], [0.0, 0.0]]
    with pytest.raises(InvalidZone) as caught:
        parse_zone({"type": "Polygon", "coordinates": [ring]})
    assert caught.value.field == "geometry.coordinates"


@given(
    x=st.floats(min_value=-2, max_value=3, allow_nan=False),
    y=st.floats(min_value=-2, max_value=3, allow_nan=False),
)
def test_axis_aligned_rectangle_agrees_with_interval_test(x: float, y: float) -> None:
    zone = Zone.from_geojson({"type": "Polygon", "coordinates": [square(0.0, 0.0, 1.0)]})
    assert zone.contains(x, y) is (0 <= x <= 1 and 0 <= y <= 1)
