"""Request and response bodies of the geofences API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from citywitness.geo.models import GeofenceRule

Name = Annotated[str, Field(min_length=1, max_length=200)]
Severity = Literal["info", "low", "medium", "high", "critical"]
Geometry = Annotated[
    dict[str, Any],
    Field(
        description=(
            "GeoJSON Polygon or MultiPolygon, [lon, lat] positions, closed rings of at least "
            "4 positions, at most 2,000 positions in all."
        )
    ),
]
RecorderIds = Annotated[
    list[uuid.UUID] | None,
    Field(max_length=1000, description="Only these recorders; null: every recorder."),
]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GeofenceCreate(Request):
    name: Name
    department_id: uuid.UUID
    rule: GeofenceRule = Field(
        description="stay_inside (patrol area: leaving it alerts) or restricted (entering it)."
    )
    geometry: Geometry
    recorder_ids: RecorderIds = None
    severity: Severity | None = Field(
        default=None, description="Severity of its alerts; default high (enter) / medium (exit)."
    )
    active: bool = True


class GeofenceUpdate(Request):
    """A partial update; changing the zone or its rule forgets where recorders were."""

    name: Name | None = None
    rule: GeofenceRule | None = None
    geometry: Geometry | None = None
    recorder_ids: RecorderIds = None
    severity: Severity | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _not_null(self) -> GeofenceUpdate:
        for name in ("name", "rule", "geometry", "active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class GeofenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    department_id: uuid.UUID
    rule: GeofenceRule
    geometry: dict[str, Any]
    recorder_ids: list[uuid.UUID] | None
    severity: Severity | None
    active: bool
    created_at: datetime
    updated_at: datetime


class GeofenceList(BaseModel):
    items: list[GeofenceOut]
