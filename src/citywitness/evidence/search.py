"""Evidence search: filters, full text over tags and notes, place, keyset pages; only what the
caller may see (access.service.visible_filter, with the classification column).

Pages are ordered newest first by (created_at, id); the cursor is that pair of the last
item returned.  Destroyed items are never listed.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import require, visible_filter
from citywitness.audit.service import Auditor
from citywitness.evidence import geo, search_index
from citywitness.evidence.errors import InvalidCursor, InvalidSearch
from citywitness.evidence.ingest import EVIDENCE
from citywitness.evidence.models import Category, EvidenceItem, EvidenceKind, EvidenceState

P = Permission


@dataclass(frozen=True)
class Near:
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True)
class SearchFilters:
    """What to look for; every field narrows the result (tags: all of them)."""

    captured_from: datetime | None = None
    captured_to: datetime | None = None
    officer_id: uuid.UUID | None = None
    recorder_serial: str | None = None
    department_id: uuid.UUID | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    classification: Classification | None = None
    kind: EvidenceKind | None = None
    state: EvidenceState | None = None
    bbox: geo.BoundingBox | None = None
    near: Near | None = None
    text: str | None = None

    def check(self) -> None:
        problems = {}
        start, end = self.captured_from, self.captured_to
        if start is not None and end is not None and end < start:
            problems["captured_to"] = "is before captured_from"
        box = self.bbox
        if box is not None and (box.min_lat > box.max_lat or box.min_lon > box.max_lon):
            problems["bbox"] = "min before max: min_lon,min_lat,max_lon,max_lat"
        if box is not None and self.near is not None:
            problems["bbox"] = "give a bounding box or a radius, not both"
        if self.state is EvidenceState.DESTROYED:
            problems["state"] = "destroyed items are not searchable"
        if problems:
            raise InvalidSearch(fields=problems)

    def described(self) -> dict[str, object]:
        """The filters for the audit trail (set ones only, as text)."""
        found = {k: v for k, v in asdict(self).items() if v not in (None, [])}
        return {k: v if isinstance(v, list | dict) else str(v) for k, v in found.items()}


def encode_cursor(created_at: datetime, item_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, item_id = raw.partition("|")
        created_at = datetime.fromisoformat(when)
        found = uuid.UUID(item_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
    if created_at.tzinfo is None:
        raise InvalidCursor(fields={"cursor": "not a cursor"})
    return created_at, found


def _where(principal: Principal, f: SearchFilters) -> list[ColumnElement[bool]]:
    item = EvidenceItem
    where: list[ColumnElement[bool]] = [
        visible_filter(
            principal,
            P.EVIDENCE_READ,
            department_column=item.department_id,
            classification_column=item.classification,
            object_type=EVIDENCE,
            id_column=item.id,
        ),
        item.state == f.state if f.state is not None else item.state != EvidenceState.DESTROYED,
    ]
    if f.captured_to is not None:
        where.append(item.captured_start <= f.captured_to)
    if f.captured_from is not None:
        where.append(func.coalesce(item.captured_end, item.captured_start) >= f.captured_from)
    for column, value in (
        (item.officer_id, f.officer_id),
        (item.recorder_serial, f.recorder_serial),
        (item.department_id, f.department_id),
        (item.kind, f.kind),
    ):
        if value is not None:
            where.append(column == value)
    if f.classification is not None:
        where.append(item.classification == int(f.classification))
    if f.category is not None:
        code = select(Category.id).where(Category.code == f.category).scalar_subquery()
        where.append(item.category_id == code)
    if f.tags:
        where.append(item.tags.contains(array(f.tags)))
    if f.bbox is not None:
        where.append(geo.box_overlaps(f.bbox, item))
    if f.near is not None:
        where.append(geo.within_radius(f.near.lat, f.near.lon, f.near.radius_m, item))
    if f.text:
        where.append(item.search_vector.op("@@")(search_index.query(f.text)))
    return where


async def search_items(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    filters: SearchFilters,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[EvidenceItem], str | None]:
    """One page of the items the caller may see that match; one audit event."""
    require(principal, P.EVIDENCE_READ, action="evidence.search")
    filters.check()
    where = _where(principal, filters)
    if cursor is not None:
        created_at, last_id = decode_cursor(cursor)
        where.append(tuple_(EvidenceItem.created_at, EvidenceItem.id) < tuple_(created_at, last_id))
    rows = await session.scalars(
        select(EvidenceItem)
        .where(*where)
        .order_by(EvidenceItem.created_at.desc(), EvidenceItem.id.desc())
        .limit(limit + 1)
    )
    found = list(rows)
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        next_cursor = encode_cursor(found[-1].created_at, found[-1].id)
    await auditor.record(
        "evidence.search",
        object_type=EVIDENCE,
        details={
            "filters": filters.described(),
            "count": len(found),
            "page": cursor is not None,
        },
    )
    return found, next_cursor
