"""Evidence search: filters, full text over tags and notes, place, keyset pages; only what the
caller may see (access.service.visible_parts, with the classification).

Two orders, newest first: `created` by (created_at, id), the ingest time; `captured` by
(captured_start, id), the capture time, items without one after all others (by id).  The
default is `captured` when a capture window is given, else `created`.  The cursor is the
sort and the key of the last item returned; a cursor of one sort is refused with another.

How it stays fast at a million items:
- the scope is split into disjoint parts (each department of the caller, then granted
  items of other departments); the query is a UNION ALL of one branch per part, each
  ordered and limited on its own, so PostgreSQL walks a department-leading index in order
  and stops after a page; the branches' pages are merged.
- the `captured` order is read in runs, one after the other and only as far as the page
  needs: items with a capture time, then those without.
- a capture window bounds captured_start from below by the longest capture interval
  stored (`_earliest_start`, one probe of ix_evidence_items_capture_length), so a window
  never walks the index past its start.
Destroyed items are never listed.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    false,
    func,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import require, visible_parts
from citywitness.audit.service import Auditor
from citywitness.evidence import geo, search_index
from citywitness.evidence.errors import InvalidSearch
from citywitness.evidence.ingest import EVIDENCE
from citywitness.evidence.models import Category, EvidenceItem, EvidenceKind, EvidenceState
from citywitness.kit.cursor import InvalidCursor, decode_cursor, encode_cursor

P = Permission
# More scope parts than this (a caller reading in many departments) are OR-ed into one
# clause: each part is a branch of the query, and planning grows with the branches.
MAX_SCOPE_PARTS = 8


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


class SearchSort(enum.StrEnum):
    CAPTURED = "captured"
    CREATED = "created"


def default_sort(filters: SearchFilters) -> SearchSort:
    """`captured` when a capture window is given (the order of the window), else `created`."""
    window = filters.captured_from is not None or filters.captured_to is not None
    return SearchSort.CAPTURED if window else SearchSort.CREATED


@dataclass(frozen=True)
class Position:
    """Where a page ended: the sort key (None: no capture time) and id of its last item."""

    sort: SearchSort
    at: datetime | None
    item_id: uuid.UUID

    @classmethod
    def after(cls, sort: SearchSort, item: EvidenceItem) -> Position:
        at = item.created_at if sort is SearchSort.CREATED else item.captured_start
        return cls(sort, at, item.id)

    def encode(self) -> str:
        at = self.at.isoformat() if self.at is not None else ""
        return encode_cursor([self.sort.value, at, str(self.item_id)])

    @classmethod
    def decode(cls, cursor: str, sort: SearchSort) -> Position:
        made_for, at, item_id = decode_cursor(cursor, 3)
        if made_for != sort.value:
            raise InvalidCursor(fields={"cursor": f"made for another sort than {sort.value}"})
        try:
            when = datetime.fromisoformat(at) if at or sort is SearchSort.CREATED else None
            found = uuid.UUID(item_id)
        except ValueError as exc:
            raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
        if when is not None and when.tzinfo is None:
            raise InvalidCursor(fields={"cursor": "not a cursor"})
        return cls(sort, when, found)


async def _earliest_start(
    session: AsyncSession, f: SearchFilters, sort: SearchSort
) -> datetime | None:
    """The earliest capture start an item overlapping the window can have: captured_from
    less the longest capture interval stored (one probe of ix_evidence_items_capture_length).

    Asked before the search, so the planner sees a constant and estimates the window right.
    """
    if sort is not SearchSort.CAPTURED or f.captured_from is None:
        return None
    item = EvidenceItem
    length = func.coalesce(item.captured_end, item.captured_start) - item.captured_start
    longest = await session.scalar(select(func.max(length)))
    return f.captured_from - max(longest or timedelta(0), timedelta(0))


def _filters(f: SearchFilters) -> list[ColumnElement[bool]]:
    item = EvidenceItem
    where: list[ColumnElement[bool]] = [
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


def _scopes(principal: Principal) -> list[ColumnElement[bool]]:
    """The caller's scope as disjoint parts (OR-ed into one when there are many)."""
    item = EvidenceItem
    parts = visible_parts(
        principal,
        P.EVIDENCE_READ,
        department_column=item.department_id,
        classification_column=item.classification,
        object_type=EVIDENCE,
        id_column=item.id,
    )
    return parts if len(parts) <= MAX_SCOPE_PARTS else [or_(*parts)]


def _order_parts(
    sort: SearchSort, f: SearchFilters, after: Position | None, earliest: datetime | None
) -> list[list[ColumnElement[bool]]]:
    """The rest of the order after `after`, as runs read one after the other: for
    `captured`, the items with a capture time, then those without (none in a window that
    has an end)."""
    item = EvidenceItem
    if sort is SearchSort.CREATED:
        if after is None:
            return [[]]
        return [[tuple_(item.created_at, item.id) < tuple_(after.at, after.item_id)]]
    dated: list[ColumnElement[bool]] = [item.captured_start.is_not(None)]
    if earliest is not None:
        dated.append(item.captured_start >= earliest)
    undated: list[ColumnElement[bool]] = [item.captured_start.is_(None)]
    if after is not None and after.at is not None:
        dated.append(tuple_(item.captured_start, item.id) < tuple_(after.at, after.item_id))
    elif after is not None:
        undated.append(item.id < after.item_id)
    parts = [] if after is not None and after.at is None else [dated]
    if f.captured_to is None:  # captured_start <= captured_to leaves no undated item
        parts.append(undated)
    return parts


def _statement(
    principal: Principal,
    f: SearchFilters,
    sort: SearchSort,
    run: list[ColumnElement[bool]],
    size: int,
) -> Select[EvidenceItem]:
    """The first `size` items of one run of the order, over every part of the scope."""
    item = EvidenceItem
    key = item.created_at if sort is SearchSort.CREATED else item.captured_start
    order = (key.desc(), item.id.desc())
    where = [*_filters(f), *run]
    scopes = _scopes(principal)
    if len(scopes) <= 1:
        return select(item).where(*(scopes or [false()]), *where).order_by(*order).limit(size)
    # Each scope part pages on its own (an index walk in order); the merge keeps the first
    # page of their union, then reads those rows whole.
    branches = union_all(
        *(
            select(item.id, key.label("key")).where(scope, *where).order_by(*order).limit(size)
            for scope in scopes
        )
    ).subquery("branches")
    page = (
        select(branches)
        .order_by(branches.c.key.desc(), branches.c.id.desc())
        .limit(size)
        .subquery("page")
    )
    return (
        select(item).join(page, item.id == page.c.id).order_by(page.c.key.desc(), page.c.id.desc())
    )


async def search_items(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    filters: SearchFilters,
    *,
    sort: SearchSort | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[EvidenceItem], str | None]:
    """One page of the items the caller may see that match, in `sort` order (default:
    `default_sort`); the cursor for the next page; one audit event."""
    require(principal, P.EVIDENCE_READ, action="evidence.search")
    filters.check()
    sort = sort or default_sort(filters)
    after = Position.decode(cursor, sort) if cursor is not None else None
    earliest = await _earliest_start(session, filters, sort)
    found: list[EvidenceItem] = []
    for run in _order_parts(sort, filters, after, earliest):
        wanted = limit + 1 - len(found)  # one more than the page: is there a next one?
        found += await session.scalars(_statement(principal, filters, sort, run, wanted))
        if len(found) > limit:
            break
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        next_cursor = Position.after(sort, found[-1]).encode()
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
