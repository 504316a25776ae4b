"""Plate watch lists: lists and entries per department, CSV import, hits, the analyzer's loader.

Reading needs watchlists:read in the list's department (outside it a list does not exist:
404); changing needs watchlists:manage there. Hits are the plate findings that matched an
entry, limited to findings the caller may see with analysis:read. Everything is audited
with ids and counts, never plate numbers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import (
    ensure_permitted,
    require,
    visible_filter,
    visible_or_404,
)
from citywitness.analysis import findings
from citywitness.analysis.departments import ensure_known
from citywitness.analysis.models import StoredFinding
from citywitness.analysis.plate_watchlist import (
    LIST_KINDS,
    PlateWatchlist,
    WatchEntry,
    valid_plate,
)
from citywitness.analysis.plate_watchlist_models import PlateList, PlateListEntry
from citywitness.audit.service import Auditor
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import Conflict, ValidationFailed

LIST = "plate_watchlist"
ENTRY = "plate_watch_entry"


class InvalidPlate(ValidationFailed):
    """The plate is not a plate number (2 to 10 letters and digits, separators aside)."""

    code = "invalid_plate"


class InvalidExpiry(ValidationFailed):
    """An entry's expiry must be a time zone-aware time in the future."""

    code = "invalid_expiry"


class ListExists(Conflict):
    """The department already has a plate list of that name."""

    code = "plate_list_exists"


class EntryExists(Conflict):
    """The plate is already on this list."""

    code = "plate_entry_exists"


class EntryRemoved(Conflict):
    """The entry was already removed."""

    code = "plate_entry_removed"


def active_clause(now: datetime) -> ColumnElement[bool]:
    return and_(
        PlateListEntry.removed_at.is_(None),
        or_(PlateListEntry.expires_at.is_(None), PlateListEntry.expires_at > now),
    )


def permit_manage(principal: Principal, department_id: uuid.UUID) -> None:
    require(principal, Permission.WATCHLISTS_MANAGE)
    ensure_permitted(
        principal,
        Permission.WATCHLISTS_MANAGE,
        department_id=department_id,
        object_type=LIST,
        object_id="new",
    )


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= utcnow()):
        raise InvalidExpiry(fields={"expires_at": "a time zone-aware time in the future"})


async def list_named(
    session: AsyncSession, department_id: uuid.UUID, name: str
) -> PlateList | None:
    query = select(PlateList).where(
        PlateList.department_id == department_id, PlateList.name == name
    )
    return (await session.execute(query)).scalar_one_or_none()


async def create_list(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    *,
    department_id: uuid.UUID,
    name: str,
    kind: str,
    description: str = "",
) -> PlateList:
    permit_manage(principal, department_id)
    await ensure_known(session, department_id, in_path=False)
    if kind not in LIST_KINDS:
        raise ValidationFailed(fields={"kind": f"one of {', '.join(LIST_KINDS)}"})
    if await list_named(session, department_id, name) is not None:
        raise ListExists
    plate_list = PlateList(
        id=uuid.uuid4(),
        department_id=department_id,
        name=name,
        kind=kind,
        description=description,
        created_by=principal.user_id,
    )
    session.add(plate_list)
    await session.flush()
    await session.refresh(plate_list)
    await auditor.record(
        "watchlists.plates.create_list",
        object_type=LIST,
        object_id=plate_list.id,
        department_id=department_id,
    )
    return plate_list


async def _visible_list(
    session: AsyncSession, principal: Principal, list_id: uuid.UUID
) -> PlateList:
    return visible_or_404(
        await session.get(PlateList, list_id),
        principal,
        Permission.WATCHLISTS_READ,
        object_type=LIST,
        object_id=list_id,
    )


async def _managed_list(
    session: AsyncSession, principal: Principal, list_id: uuid.UUID
) -> PlateList:
    plate_list = await _visible_list(session, principal, list_id)
    ensure_permitted(
        principal,
        Permission.WATCHLISTS_MANAGE,
        department_id=plate_list.department_id,
        object_type=LIST,
        object_id=plate_list.id,
    )
    return plate_list


async def list_lists(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    *,
    department_id: uuid.UUID | None = None,
) -> list[tuple[PlateList, int]]:
    """Lists in scope, each with its number of active entries."""
    require(principal, Permission.WATCHLISTS_READ, action="watchlists.plates.list")
    where = [
        visible_filter(
            principal, Permission.WATCHLISTS_READ, department_column=PlateList.department_id
        )
    ]
    if department_id is not None:
        where.append(PlateList.department_id == department_id)
    active = (
        select(func.count())
        .where(PlateListEntry.list_id == PlateList.id, active_clause(utcnow()))
        .scalar_subquery()
    )
    query = select(PlateList, active).where(*where).order_by(PlateList.name, PlateList.id)
    rows = [(row[0], int(row[1])) for row in (await session.execute(query.limit(1000))).all()]
    await auditor.record("watchlists.plates.list", object_type=LIST, details={"count": len(rows)})
    return rows


async def get_list(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    list_id: uuid.UUID,
    *,
    active_only: bool = True,
) -> tuple[PlateList, list[PlateListEntry]]:
    """A list and its entries (``active_only``: not removed, not expired)."""
    plate_list = await _visible_list(session, principal, list_id)
    query = select(PlateListEntry).where(PlateListEntry.list_id == list_id)
    if active_only:
        query = query.where(active_clause(utcnow()))
    entries = list(
        (await session.execute(query.order_by(PlateListEntry.created_at, PlateListEntry.id)))
        .scalars()
        .all()
    )
    await auditor.record(
        "watchlists.plates.read",
        object_type=LIST,
        object_id=list_id,
        department_id=plate_list.department_id,
        details={"entries": len(entries)},
    )
    return plate_list, entries


async def active_plates(session: AsyncSession, list_id: uuid.UUID) -> set[str]:
    query = select(PlateListEntry.plate).where(
        PlateListEntry.list_id == list_id, active_clause(utcnow())
    )
    return set((await session.execute(query)).scalars())


async def add_entry(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    list_id: uuid.UUID,
    *,
    plate: str,
    reason: str = "",
    country: str | None = None,
    expires_at: datetime | None = None,
) -> PlateListEntry:
    plate_list = await _managed_list(session, principal, list_id)
    try:
        text = valid_plate(plate)
    except ValueError as exc:
        raise InvalidPlate(fields={"plate": str(exc)}) from None
    _check_expiry(expires_at)
    if text in await active_plates(session, list_id):
        raise EntryExists
    entry = PlateListEntry(
        id=uuid.uuid4(),
        list_id=list_id,
        plate=text,
        country=None if country is None else country.upper(),
        reason=reason,
        added_by=principal.user_id,
        expires_at=expires_at,
    )
    session.add(entry)
    await session.flush()
    await session.refresh(entry)
    await auditor.record(
        "watchlists.plates.add_entry",
        object_type=ENTRY,
        object_id=entry.id,
        department_id=plate_list.department_id,
        details={"list_id": str(list_id)},
    )
    return entry


async def _entry_of(
    session: AsyncSession, plate_list: PlateList, entry_id: uuid.UUID
) -> PlateListEntry:
    entry = await session.get(PlateListEntry, entry_id, with_for_update=True)
    if entry is None or entry.list_id != plate_list.id:
        raise ObjectNotVisible(f"no such {ENTRY}")
    return entry


async def remove_entry(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    list_id: uuid.UUID,
    entry_id: uuid.UUID,
) -> PlateListEntry:
    """Take a plate off the list (kept, marked removed, so its hits stay explained)."""
    plate_list = await _managed_list(session, principal, list_id)
    entry = await _entry_of(session, plate_list, entry_id)
    if entry.removed_at is not None:
        raise EntryRemoved
    entry.removed_at = utcnow()
    entry.removed_by = principal.user_id
    await session.flush()
    await auditor.record(
        "watchlists.plates.remove_entry",
        object_type=ENTRY,
        object_id=entry.id,
        department_id=plate_list.department_id,
        details={"list_id": str(list_id)},
    )
    return entry


async def hits(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    list_id: uuid.UUID,
    entry_id: uuid.UUID,
) -> list[StoredFinding]:
    """Plate findings that matched this entry, in evidence the caller may analyse; newest first."""
    plate_list = await _visible_list(session, principal, list_id)
    entry = await session.get(PlateListEntry, entry_id)
    if entry is None or entry.list_id != plate_list.id:
        raise ObjectNotVisible(f"no such {ENTRY}")
    found = await findings.watchlist_hits(session, principal, "plates", entry_id)
    await auditor.record(
        "watchlists.plates.hits",
        object_type=ENTRY,
        object_id=entry_id,
        department_id=plate_list.department_id,
        details={"count": len(found), "evidence": sorted({str(f.evidence_id) for f in found})},
    )
    return found


async def load_for_departments(
    session: AsyncSession, department_ids: Sequence[uuid.UUID]
) -> PlateWatchlist:
    """The plates in force now on the lists of these departments (the pipeline's loader)."""
    query = (
        select(PlateListEntry, PlateList)
        .join(PlateList, PlateList.id == PlateListEntry.list_id)
        .where(PlateList.department_id.in_(list(department_ids)), active_clause(utcnow()))
    )
    return PlateWatchlist(
        WatchEntry(
            entry_id=str(entry.id),
            list_name=plate_list.name,
            list_kind=plate_list.kind,
            plate=entry.plate,
            reason=entry.reason,
            country=entry.country,
            expires_at=entry.expires_at,
        )
        for entry, plate_list in (await session.execute(query)).all()
    )
