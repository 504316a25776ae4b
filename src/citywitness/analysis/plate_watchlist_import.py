"""CSV import of plate watch lists: rows go to a department's lists by name, all or nothing.

Lists named in the file are created when missing (with the row's ``kind``); a plate already
active on its list is skipped and counted. The whole file is validated before anything is
written, so a bad row (422 ``invalid_csv`` with its line) leaves nothing behind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.principal import Principal
from citywitness.analysis.departments import ensure_known
from citywitness.analysis.plate_watchlist import CsvRow, WatchlistFileInvalid, parse_csv
from citywitness.analysis.plate_watchlist_models import PlateList, PlateListEntry
from citywitness.analysis.plate_watchlist_service import (
    LIST,
    active_plates,
    create_list,
    list_named,
    permit_manage,
)
from citywitness.audit.service import Auditor
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import ValidationFailed


class InvalidCsv(ValidationFailed):
    """The CSV file has a bad row (see ``fields``); nothing was imported."""

    code = "invalid_csv"


@dataclass(frozen=True, slots=True)
class ImportResult:
    lists_created: int
    entries_added: int
    duplicates_skipped: int


def _rows(text: str) -> list[CsvRow]:
    try:
        rows = parse_csv(text)
    except WatchlistFileInvalid as exc:
        raise InvalidCsv(fields={"line": exc.line, "problem": str(exc)}) from None
    for row in rows:
        if row.expires_at is not None and row.expires_at <= utcnow():
            raise InvalidCsv(fields={"line": row.line, "problem": "expires_at is in the past"})
    return rows


async def import_csv(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    *,
    department_id: uuid.UUID,
    text: str,
) -> ImportResult:
    """Rows into the department's lists by name (missing lists are created); all or nothing.

    A plate already active on its list is skipped (counted in ``duplicates_skipped``).
    """
    permit_manage(principal, department_id)
    await ensure_known(session, department_id, in_path=False)
    rows = _rows(text)
    lists: dict[str, PlateList] = {}
    created = added = skipped = 0
    seen: dict[uuid.UUID, set[str]] = {}
    for row in rows:
        plate_list = lists.get(row.list_name) or await list_named(
            session, department_id, row.list_name
        )
        if plate_list is None:
            plate_list = await create_list(
                session,
                principal,
                auditor,
                department_id=department_id,
                name=row.list_name,
                kind=row.list_kind,
            )
            created += 1
        lists[row.list_name] = plate_list
        if plate_list.id not in seen:
            seen[plate_list.id] = await active_plates(session, plate_list.id)
        if row.plate in seen[plate_list.id]:
            skipped += 1
            continue
        seen[plate_list.id].add(row.plate)
        session.add(
            PlateListEntry(
                id=uuid.uuid4(),
                list_id=plate_list.id,
                plate=row.plate,
                country=row.country,
                reason=row.reason,
                added_by=principal.user_id,
                expires_at=row.expires_at,
            )
        )
        added += 1
    await session.flush()
    await auditor.record(
        "watchlists.plates.import",
        object_type=LIST,
        department_id=department_id,
        details={"lists_created": created, "entries_added": added, "skipped": skipped},
    )
    return ImportResult(created, added, skipped)
