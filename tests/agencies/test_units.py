from __future__ import annotations

import uuid

import httpx

from citywitness.access.levels import Role
from citywitness.agencies.service import ensure_unit, seed_demo
from citywitness.kit.db import Database
from tests.agencies.conftest import events
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

UNITS = f"/api/v1/departments/{PUBLIC_SECURITY}/units"


async def _create(client: httpx.AsyncClient, actor: Actor, **body: object) -> httpx.Response:
    return await client.post(UNITS, headers=actor.headers, json=body)


async def test_create_nested_units_and_list_them(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor, ps_officer: Actor
) -> None:
    north = await _create(client, ps_admin, code="north", name="North Precinct")
    assert north.status_code == 201, north.text
    north_id = north.json()["id"]
    patrol = await _create(client, ps_admin, code="north-patrol", name="Patrol", parent_id=north_id)
    assert patrol.status_code == 201
    assert patrol.json()["parent_id"] == north_id
    assert patrol.json()["department_id"] == str(PUBLIC_SECURITY)
    listed = await client.get(UNITS, headers=ps_officer.headers)
    assert listed.status_code == 200
    assert [(u["code"], u["parent_id"]) for u in listed.json()["items"]] == [
        ("north", None),
        ("north-patrol", north_id),
    ]
    assert [(e["action"], e["department_id"]) for e in await events(db, ps_admin)] == [
        ("units.create", PUBLIC_SECURITY),
        ("units.create", PUBLIC_SECURITY),
    ]
    assert [e["details"] for e in await events(db, ps_officer)] == [{"count": 2}]


async def test_unit_rules(client: httpx.AsyncClient, db: Database, ps_admin: Actor) -> None:
    async with db.transaction() as session:
        foreign = await ensure_unit(session, department_id=TRAFFIC_POLICE, code="t1", name="T1")
    first = await _create(client, ps_admin, code="a", name="A")
    assert first.status_code == 201
    taken = await _create(client, ps_admin, code="a", name="Again")
    assert (taken.status_code, taken.json()["error"]) == (409, "unit_code_taken")
    elsewhere = await _create(client, ps_admin, code="b", name="B", parent_id=str(foreign.id))
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (422, "unit_not_in_department")
    assert elsewhere.json()["fields"] == {"parent_id": "no such unit in this department"}
    bad = await _create(client, ps_admin, code="B!", name="B")
    assert (bad.status_code, list(bad.json()["fields"])) == (422, ["code"])


async def test_move_unit_refuses_cycles(client: httpx.AsyncClient, ps_admin: Actor) -> None:
    top = (await _create(client, ps_admin, code="top", name="Top")).json()["id"]
    mid = (await _create(client, ps_admin, code="mid", name="Mid", parent_id=top)).json()["id"]
    low = (await _create(client, ps_admin, code="low", name="Low", parent_id=mid)).json()["id"]
    for target in (top, mid, low):
        refused = await client.patch(
            f"{UNITS}/{top}", headers=ps_admin.headers, json={"parent_id": target}
        )
        assert (refused.status_code, refused.json()["error"]) == (422, "unit_cycle"), target
    moved = await client.patch(
        f"{UNITS}/{low}", headers=ps_admin.headers, json={"parent_id": top, "name": "Lower"}
    )
    assert moved.status_code == 200
    assert (moved.json()["parent_id"], moved.json()["name"]) == (top, "Lower")
    detached = await client.patch(
        f"{UNITS}/{mid}", headers=ps_admin.headers, json={"parent_id": None}
    )
    assert detached.json()["parent_id"] is None
    missing = await client.patch(f"{UNITS}/{uuid.uuid4()}", headers=ps_admin.headers, json={})
    assert missing.status_code == 404


async def test_units_are_scoped_to_the_department(client: httpx.AsyncClient, db: Database) -> None:
    traffic_admin = await make_actor(db, roles={TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]})
    listed = await client.get(UNITS, headers=traffic_admin.headers)
    assert (listed.status_code, listed.json()["error"]) == (403, "permission_denied")
    created = await _create(client, traffic_admin, code="x", name="X")
    assert created.status_code == 403
    officer = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    assert (await _create(client, officer, code="x", name="X")).status_code == 403
    unknown = await client.get(
        f"/api/v1/departments/{uuid.uuid4()}/units", headers=traffic_admin.headers
    )
    assert unknown.status_code == 404


async def test_ensure_unit_is_idempotent(db: Database) -> None:
    async with db.transaction() as session:
        top = await ensure_unit(session, department_id=PUBLIC_SECURITY, code="demo", name="Demo")
        again = await ensure_unit(session, department_id=PUBLIC_SECURITY, code="demo", name="X")
        child = await ensure_unit(
            session, department_id=PUBLIC_SECURITY, code="demo-1", name="D1", parent_id=top.id
        )
    assert again.id == top.id
    assert again.name == "Demo"
    assert child.parent_id == top.id


async def test_seed_demo_is_idempotent(db: Database) -> None:
    async with db.transaction() as session:
        first = await seed_demo(session)
        again = await seed_demo(session)
    assert [o.badge_number for o in first] == ["PS-1001", "PS-1002", "PS-1003"]
    assert [o.id for o in again] == [o.id for o in first]
    assert {o.department_id for o in first} == {PUBLIC_SECURITY}
    assert len({o.unit_id for o in first}) == 1
