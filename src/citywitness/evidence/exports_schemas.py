"""Request and response shapes of export packages requested over the API (and the CLI's
`--query`, which builds the same `ExportQuery`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from citywitness.access.levels import Classification
from citywitness.evidence import geo
from citywitness.evidence.errors import InvalidSearch
from citywitness.evidence.export_models import Export, ExportStatus
from citywitness.evidence.models import EvidenceKind, EvidenceState
from citywitness.evidence.schemas import ClassificationLabel
from citywitness.evidence.search import Near, SearchFilters

NoControls = r"^[^\x00-\x1f\x7f]*$"


def parse_bbox(raw: str | None) -> geo.BoundingBox | None:
    """`min_lon,min_lat,max_lon,max_lat` (as GET /api/v1/evidence takes it)."""
    if raw is None:
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in raw.split(","))
    except ValueError:
        raise InvalidSearch(fields={"bbox": "min_lon,min_lat,max_lon,max_lat"}) from None
    if not all(-90 <= v <= 90 for v in (min_lat, max_lat)):
        raise InvalidSearch(fields={"bbox": "latitudes within ±90"})
    if not all(-180 <= v <= 180 for v in (min_lon, max_lon)):
        raise InvalidSearch(fields={"bbox": "longitudes within ±180"})
    return geo.BoundingBox(min_lat, max_lat, min_lon, max_lon)


class ExportQuery(BaseModel):
    """The search filters of GET /api/v1/evidence, as an object: every item the caller may
    read that matches is exported (state defaults to `active`)."""

    model_config = ConfigDict(extra="forbid")

    captured_from: datetime | None = None
    captured_to: datetime | None = None
    officer_id: uuid.UUID | None = None
    recorder_serial: str | None = Field(default=None, max_length=80)
    department_id: uuid.UUID | None = None
    category: str | None = Field(default=None, max_length=60)
    tag: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=20, description="All of these tags."
    )
    classification: ClassificationLabel | None = None
    kind: EvidenceKind | None = None
    state: EvidenceState | None = Field(
        default=None, description="Default `active`: only active items can be exported."
    )
    bbox: str | None = Field(
        default=None, max_length=200, description="min_lon,min_lat,max_lon,max_lat"
    )
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0, le=1_000_000)
    q: str | None = Field(
        default=None, min_length=1, max_length=200, description="Full text over tags and notes."
    )

    def filters(self) -> SearchFilters:
        """The search these filters describe (InvalidSearch 422 when they do not fit)."""
        circle = (self.lat, self.lon, self.radius_m)
        near = None
        if any(v is not None for v in circle):
            if self.lat is None or self.lon is None or self.radius_m is None:
                raise InvalidSearch(fields={"radius_m": "lat, lon and radius_m go together"})
            near = Near(self.lat, self.lon, self.radius_m)
        return SearchFilters(
            captured_from=self.captured_from,
            captured_to=self.captured_to,
            officer_id=self.officer_id,
            recorder_serial=self.recorder_serial,
            department_id=self.department_id,
            category=self.category,
            tags=list(self.tag),
            classification=Classification.parse(self.classification)
            if self.classification
            else None,
            kind=self.kind,
            state=self.state or EvidenceState.ACTIVE,
            bbox=parse_bbox(self.bbox),
            near=near,
            text=self.q,
        )

    def recorded(self) -> dict[str, Any]:
        """The query as stored with the export (set fields only, JSON values)."""
        return self.model_dump(mode="json", exclude_defaults=True)


class ExportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[uuid.UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=100_000,
        description="The items to export, in package order.  Give `items` or `query`.",
    )
    query: ExportQuery | None = Field(
        default=None, description="Export every item a search finds.  Give `items` or `query`."
    )
    reason: str = Field(
        min_length=1,
        max_length=500,
        pattern=NoControls,
        description="Why (required; recorded in the audit trail and, as its SHA-256, in the "
        "ledger; printed in the package).",
    )
    derivatives: bool = Field(
        default=False, description="Also export the proxies and thumbnails (C2PA embedded)."
    )

    @model_validator(mode="after")
    def _one_selection(self) -> ExportCreate:
        if (self.items is None) == (self.query is None):
            raise ValueError("give either items or query")
        return self


class ExportOut(BaseModel):
    id: uuid.UUID
    status: ExportStatus = Field(description="queued, running, done, failed, discarded, expired")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="When a done package is removed.")
    item_count: int
    derivatives: bool
    reason: str
    query: dict[str, Any] | None = Field(description="The search, for a query export.")
    package_sha256: str | None = Field(description="SHA-256 (hex) of the package, when done.")
    package_size: int | None = Field(description="Size of the package in bytes, when done.")
    error: str | None = Field(description="Why it failed (a machine code), when failed.")
    items: list[uuid.UUID] | None = Field(
        default=None, description="The exported items in package order (single reads only)."
    )

    @classmethod
    def of(cls, export: Export, items: list[uuid.UUID] | None = None) -> ExportOut:
        return cls(
            id=export.id,
            status=export.status,
            created_at=export.created_at,
            started_at=export.started_at,
            finished_at=export.finished_at,
            expires_at=export.expires_at,
            item_count=export.item_count,
            derivatives=export.derivatives,
            reason=export.reason,
            query=export.query,
            package_sha256=export.package_sha256,
            package_size=export.package_size,
            error=export.error_code,
            items=items,
        )


class ExportPage(BaseModel):
    items: list[ExportOut]
    next_cursor: str | None
