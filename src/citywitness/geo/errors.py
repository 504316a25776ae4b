"""Errors of the geo domain."""

from __future__ import annotations

from citywitness.kit.errors import ValidationFailed


class InvalidGeofence(ValidationFailed):
    """The zone is not valid (GeoJSON Polygon or MultiPolygon, closed rings, lon/lat)."""

    code = "invalid_geofence"
