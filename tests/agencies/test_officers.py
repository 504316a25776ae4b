from __future__ import annotations

import uuid

import httpx

from citywitness.access.levels import Role
from citywitness.agencies.models import Officer
from citywitness.agencies.service import ensure_officer, ensure_unit
from citywitness.identity.models import User
from citywitness.kit.db import Database
from tests.agencies.conftest import events
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor, make_user

OFFICERS = "/api/v1/officers"


def body(**overrides: object) -> dict[str, object]:
    return {
        "badge_number": "PS-0001",
        "display_name": "Li Wei",
        "department_id": str(PUBLIC_SECURITY),
    } | overrides


async def _user(db: Database) -> User:
    async with db.transaction() as session:
        return await make_user(session)


async def _officer(db: Database, badge: str, department: uuid.UUID = PUBLIC_SECURITY) -> Officer:
    async with db.transaction() as session:
        return await ensure_officer(
            session, badge_number=badge, display_name=f"Officer {badge}", department_id=department
        )


async def test_create_and_read_an_officer(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor, ps_officer: Actor
) -> None:
    user = await _user(db)
    async with db.transaction() as session:
        unit = await ensure_unit(session, department_id=PUBLIC_SECURITY, code="n", name="N")
    response = await client.post(
        OFFICERS,
        headers=ps_admin.headers,
        json=body(unit_id=str(unit.id), user_id=str(user.id)),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created == {
        "id": created["id"],
        "badge_number": "PS-0001",
        "display_name": "Li Wei",
        "department_id": str(PUBLIC_SECURITY),
        "unit_id": str(unit.id),
        "user_id": str(user.id),
        "active": True,
        "created_at": created["created_at"],
    }
    read = await client.get(f"{OFFICERS}/{created['id']}", headers=ps_officer.headers)
    assert read.status_code == 200
    assert read.json() == created
    assert await events(db, ps_admin) == [
        {
            "action": "officers.create",
            "outcome": "success",
            "object_type": "officer",
            "object_id": created["id"],
            "department_id": PUBLIC_SECURITY,
            "details": {"badge_number": "PS-0001", "linked_user": True},
        }
    ]
    assert [(e["action"], e["object_id"]) for e in await events(db, ps_officer)] == [
        ("officers.read", created["id"])
    ]


async def test_create_officer_conflicts_and_bad_references(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor
) -> None:
    user = await _user(db)
    async with db.transaction() as session:
        foreign = await ensure_unit(session, department_id=TRAFFIC_POLICE, code="t", name="T")
    first = await client.post(OFFICERS, headers=ps_admin.headers, json=body(user_id=str(user.id)))
    assert first.status_code == 201
    expectations = [
        (body(), 409, "badge_taken", {"badge_number": "already in use"}),
        (body(badge_number="PS-2", user_id=str(user.id)), 409, "user_already_linked", None),
        (body(badge_number="PS-3", user_id=str(uuid.uuid4())), 422, "unknown_user", None),
        (body(badge_number="PS-4", unit_id=str(foreign.id)), 422, "unit_not_in_department", None),
        (body(badge_number="PS 5"), 422, "validation_failed", None),
        (body(badge_number="PS-6", display_name=""), 422, "validation_failed", None),
        (body(badge_number="PS-7", rank="x"), 422, "validation_failed", None),
    ]
    for payload, status, code, fields in expectations:
        response = await client.post(OFFICERS, headers=ps_admin.headers, json=payload)
        assert (response.status_code, response.json()["error"]) == (status, code), payload
        if fields is not None:
            assert response.json()["fields"] == fields
    assert [e["action"] for e in await events(db, ps_admin)] == ["officers.create"]


async def test_create_officer_needs_manage_in_that_department(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor, admin: Actor
) -> None:
    refused = await client.post(
        OFFICERS, headers=ps_admin.headers, json=body(department_id=str(TRAFFIC_POLICE))
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "permission_denied")
    unknown = await client.post(
        OFFICERS, headers=admin.headers, json=body(department_id=str(uuid.uuid4()))
    )
    assert (unknown.status_code, unknown.json()["error"]) == (422, "unknown_department")


async def test_officer_outside_scope_does_not_exist(
    client: httpx.AsyncClient, db: Database
) -> None:
    officer = await _officer(db, "PS-9")
    traffic = await make_actor(db, roles={TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]})
    for method, json in (("GET", None), ("PATCH", {"active": False})):
        response = await client.request(
            method, f"{OFFICERS}/{officer.id}", headers=traffic.headers, json=json
        )
        assert (response.status_code, response.json()["error"]) == (404, "not_found")
    missing = await client.get(f"{OFFICERS}/{uuid.uuid4()}", headers=traffic.headers)
    assert missing.status_code == 404
    assert [(e["action"], e["outcome"], e["object_id"]) for e in await events(db, traffic)] == [
        ("officers:read", "denied", str(officer.id)),
        ("officers:read", "denied", str(officer.id)),
        ("officers:read", "denied", missing.request.url.path.rsplit("/", 1)[1]),
    ]


async def test_patch_officer(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor, ps_officer: Actor
) -> None:
    officer = await _officer(db, "PS-10")
    user = await _user(db)
    url = f"{OFFICERS}/{officer.id}"
    changed = await client.patch(
        url,
        headers=ps_admin.headers,
        json={"display_name": "Wang Fang", "active": False, "user_id": str(user.id)},
    )
    assert changed.status_code == 200
    assert (changed.json()["display_name"], changed.json()["active"]) == ("Wang Fang", False)
    unlinked = await client.patch(url, headers=ps_admin.headers, json={"user_id": None})
    assert unlinked.json()["user_id"] is None
    noop = await client.patch(url, headers=ps_admin.headers, json={"active": False})
    assert noop.status_code == 200
    null = await client.patch(url, headers=ps_admin.headers, json={"badge_number": None})
    assert null.status_code == 422
    await _officer(db, "PS-11")
    taken = await client.patch(url, headers=ps_admin.headers, json={"badge_number": "PS-11"})
    assert (taken.status_code, taken.json()["error"]) == (409, "badge_taken")
    forbidden = await client.patch(url, headers=ps_officer.headers, json={"active": True})
    assert (forbidden.status_code, forbidden.json()["error"]) == (403, "permission_denied")
    assert [e["details"] for e in await events(db, ps_admin, "officers.update")] == [
        {"changed": ["active", "display_name", "user_id"]},
        {"changed": ["user_id"]},
    ]


async def test_moving_an_officer_needs_manage_in_both_departments(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor
) -> None:
    officer = await _officer(db, "PS-20")
    async with db.transaction() as session:
        ps_unit = await ensure_unit(session, department_id=PUBLIC_SECURITY, code="p", name="P")
        tp_unit = await ensure_unit(session, department_id=TRAFFIC_POLICE, code="t", name="T")
    url = f"{OFFICERS}/{officer.id}"
    await client.patch(url, headers=ps_admin.headers, json={"unit_id": str(ps_unit.id)})
    move = {"department_id": str(TRAFFIC_POLICE)}
    refused = await client.patch(url, headers=ps_admin.headers, json=move)
    assert (refused.status_code, refused.json()["error"]) == (403, "permission_denied")
    both = await make_actor(
        db,
        roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN], TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]},
    )
    stale_unit = await client.patch(url, headers=both.headers, json=move)
    assert (stale_unit.status_code, stale_unit.json()["error"]) == (422, "unit_not_in_department")
    moved = await client.patch(url, headers=both.headers, json=move | {"unit_id": str(tp_unit.id)})
    assert moved.status_code == 200
    assert (moved.json()["department_id"], moved.json()["unit_id"]) == (
        str(TRAFFIC_POLICE),
        str(tp_unit.id),
    )
    assert await events(db, both, "officers.update") == [
        {
            "action": "officers.update",
            "outcome": "success",
            "object_type": "officer",
            "object_id": str(officer.id),
            "department_id": TRAFFIC_POLICE,
            "details": {
                "changed": ["department_id", "unit_id"],
                "from_department_id": str(PUBLIC_SECURITY),
                "to_department_id": str(TRAFFIC_POLICE),
            },
        }
    ]
    gone = await client.get(url, headers=ps_admin.headers)
    assert gone.status_code == 404


async def test_ensure_officer_is_idempotent(db: Database) -> None:
    first = await _officer(db, "DEMO-1")
    again = await _officer(db, "DEMO-1", TRAFFIC_POLICE)
    assert again.id == first.id
    assert again.department_id == PUBLIC_SECURITY
