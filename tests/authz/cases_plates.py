"""Authorization cases for plate watch lists (see matrix.py): reading needs watchlists:read in
the list's department (else 404), changing needs watchlists:manage (403 for one who can see
the list); the CSV import and list creation act in the department named in the request."""

from __future__ import annotations

import uuid

from citywitness.access.permissions import Permission
from citywitness.analysis.plate_watchlist_models import PlateList, PlateListEntry
from citywitness.kit.db import Database
from tests.authz.matrix import HOME, Actor, Case, Prepared, department_case, object_case
from tests.factories import make_user

P = Permission
BASE = "/api/v1/watchlists/plates"


async def new_list(_db: Database, _caller: Actor | None) -> Prepared:
    name = f"stolen-{uuid.uuid4().hex[:8]}"
    return Prepared(json={"department_id": str(HOME), "name": name, "kind": "stolen"})


async def csv_import(_db: Database, _caller: Actor | None) -> Prepared:
    name = f"wanted-{uuid.uuid4().hex[:8]}"
    body = f"plate,list,reason,kind\n沪A·12345,{name},case 7,wanted\n".encode()
    return Prepared(
        params={"department_id": str(HOME)}, headers={"content-type": "text/csv"}, content=body
    )


async def _home_entry(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with db.transaction() as session:
        owner = await make_user(session)
        plate_list = PlateList(
            id=uuid.uuid4(),
            department_id=HOME,
            name=f"stolen-{uuid.uuid4().hex[:8]}",
            kind="stolen",
            description="",
            created_by=owner.id,
        )
        session.add(plate_list)
        await session.flush()
        entry = PlateListEntry(
            id=uuid.uuid4(), list_id=plate_list.id, plate="AB123CD", reason="", added_by=owner.id
        )
        session.add(entry)
    return plate_list.id, entry.id


async def home_list(db: Database, _caller: Actor | None) -> Prepared:
    list_id, _ = await _home_entry(db)
    return Prepared(path={"list_id": str(list_id)}, json={"plate": "沪B·8K9Z7", "reason": "r"})


async def home_entry(db: Database, _caller: Actor | None) -> Prepared:
    list_id, entry_id = await _home_entry(db)
    return Prepared(path={"list_id": str(list_id), "entry_id": str(entry_id)})


LIST = f"{BASE}/{{list_id}}"
ENTRY = f"{LIST}/entries/{{entry_id}}"

CASES: list[Case] = [
    department_case("GET", BASE, P.WATCHLISTS_READ, other=200, note="lists what is in scope"),
    department_case("POST", BASE, P.WATCHLISTS_MANAGE, new_list, success=201),
    department_case("POST", f"{BASE}/import", P.WATCHLISTS_MANAGE, csv_import),
    object_case("GET", LIST, P.WATCHLISTS_READ, home_list, without=404),
    object_case("POST", f"{LIST}/entries", P.WATCHLISTS_MANAGE, home_list, success=201),
    object_case("DELETE", ENTRY, P.WATCHLISTS_MANAGE, home_entry),
    object_case("GET", f"{ENTRY}/hits", P.WATCHLISTS_READ, home_entry, without=404),
]
