"""The recorder registry and shift bindings through the API: scope, rules, audit."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from citywitness.access.levels import Role
from citywitness.audit.models import AuditEvent
from citywitness.devices.models import DeviceCredential, RecorderBinding
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.devices.helpers import make_enrolled, make_officer, make_recorder, new_serial
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor


async def _create(client: httpx.AsyncClient, actor: Actor, **fields: object) -> httpx.Response:
    body = {"serial": new_serial(), "department_id": str(PUBLIC_SECURITY), **fields}
    return await client.post("/api/v1/devices", headers=actor.headers, json=body)


async def test_create_read_update(client: httpx.AsyncClient, db: Database, ps_admin: Actor) -> None:
    r = await _create(
        client,
        ps_admin,
        model="DSJ-X1",
        imei="490154203237518",
        iccid="8986001234567890123",
        notes="spare",
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert {
        k: created[k]
        for k in ("model", "imei", "iccid", "notes", "state", "enrolled", "latest", "binding")
    } == {
        "model": "DSJ-X1",
        "imei": "490154203237518",
        "iccid": "8986001234567890123",
        "notes": "spare",
        "state": "active",
        "enrolled": False,
        "latest": None,
        "binding": None,
    }
    rid = created["id"]
    r = await client.patch(
        f"/api/v1/devices/{rid}",
        headers=ps_admin.headers,
        json={"firmware": "2.1.0", "notes": None},
    )
    assert (r.json()["firmware"], r.json()["notes"]) == ("2.1.0", None)
    r = await client.get(f"/api/v1/devices/{rid}", headers=ps_admin.headers)
    assert r.json()["firmware"] == "2.1.0"
    async with db.transaction() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.object_id == rid).order_by(AuditEvent.id)
            )
        )
    assert actions == ["devices.create", "devices.update", "devices.read"]


async def test_serial_is_unique_and_validated(client: httpx.AsyncClient, ps_admin: Actor) -> None:
    serial = new_serial()
    assert (await _create(client, ps_admin, serial=serial)).status_code == 201
    r = await _create(client, ps_admin, serial=serial)
    assert (r.status_code, r.json()["error"], r.json()["fields"]) == (
        409,
        "serial_taken",
        {"serial": "already in use"},
    )
    for bad in ["a/b", "a+b", "#", "", "x" * 65]:
        r = await _create(client, ps_admin, serial=bad)
        assert r.status_code == 422, bad
    r = await _create(client, ps_admin, imei="123")
    assert list(r.json()["fields"]) == ["imei"]


async def test_other_department_sees_nothing(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor, traffic_admin: Actor
) -> None:
    mine = await make_recorder(db)
    theirs = await make_recorder(db, TRAFFIC_POLICE)
    for path in ["", "/positions", "/events", "/bindings"]:
        r = await client.get(f"/api/v1/devices/{mine.id}{path}", headers=traffic_admin.headers)
        assert (r.status_code, r.json()["error"]) == (404, "not_found"), path
    r = await client.patch(
        f"/api/v1/devices/{mine.id}", headers=traffic_admin.headers, json={"notes": "x"}
    )
    assert r.status_code == 404
    r = await client.get("/api/v1/devices", headers=traffic_admin.headers, params={"limit": 500})
    ids = {item["id"] for item in r.json()["items"]}
    assert str(theirs.id) in ids and str(mine.id) not in ids
    r = await _create(client, traffic_admin)  # into PUBLIC_SECURITY
    assert r.status_code == 403


async def test_list_pages_by_serial_and_filters(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor
) -> None:
    prefix = f"PG{uuid.uuid4().hex[:6].upper()}-"
    for i in range(5):
        assert (await _create(client, ps_admin, serial=f"{prefix}{i}")).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"q": prefix, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/devices", headers=ps_admin.headers, params=params)).json()
        seen += [item["serial"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"{prefix}{i}" for i in range(5)]
    r = await client.get(
        "/api/v1/devices", headers=ps_admin.headers, params={"q": prefix, "online": "true"}
    )
    assert r.json()["items"] == []
    r = await client.get("/api/v1/devices", headers=ps_admin.headers, params={"cursor": "zzz"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_cursor")


async def test_retiring_revokes_and_unbinds(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor
) -> None:
    device = await make_enrolled(db)
    officer = await make_officer(db)
    rid = device.identity.device_id
    r = await client.post(
        f"/api/v1/devices/{rid}/binding",
        headers=ps_admin.headers,
        json={"officer_id": str(officer)},
    )
    assert r.status_code == 201
    r = await client.patch(
        f"/api/v1/devices/{rid}", headers=ps_admin.headers, json={"state": "retired"}
    )
    assert (r.json()["state"], r.json()["enrolled"], r.json()["binding"]) == (
        "retired",
        False,
        None,
    )
    r = await client.post(
        "/api/v1/devices/self/status", headers=device.headers, json={"msg_id": "x"}
    )
    assert r.status_code == 401
    r = await client.patch(f"/api/v1/devices/{rid}", headers=ps_admin.headers, json={"state": None})
    assert r.status_code == 422


async def test_binding_one_person_one_file(
    client: httpx.AsyncClient, db: Database, ps_operator: Actor
) -> None:
    a, b = await make_recorder(db), await make_recorder(db)
    officer, other = await make_officer(db), await make_officer(db)
    h = ps_operator.headers
    r = await client.post(
        f"/api/v1/devices/{a.id}/binding", headers=h, json={"officer_id": str(officer)}
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["officer_id"], first["ended_at"]) == (str(officer), None)
    r = await client.post(
        f"/api/v1/devices/{a.id}/binding", headers=h, json={"officer_id": str(other)}
    )
    assert (r.status_code, r.json()["error"]) == (409, "recorder_already_bound")
    r = await client.post(
        f"/api/v1/devices/{b.id}/binding", headers=h, json={"officer_id": str(officer)}
    )
    assert (r.status_code, r.json()["error"]) == (409, "officer_already_bound")
    r = await client.get(f"/api/v1/devices/{a.id}", headers=h)
    assert r.json()["binding"]["officer_id"] == str(officer)
    r = await client.post(f"/api/v1/devices/{a.id}/unbind", headers=h, json={})
    assert r.status_code == 200 and r.json()["ended_at"] is not None
    r = await client.post(f"/api/v1/devices/{a.id}/unbind", headers=h, json={})
    assert (r.status_code, r.json()["error"]) == (409, "not_bound")
    r = await client.post(
        f"/api/v1/devices/{b.id}/binding", headers=h, json={"officer_id": str(officer)}
    )
    assert r.status_code == 201
    r = await client.post(
        f"/api/v1/devices/{a.id}/binding", headers=h, json={"officer_id": str(officer)}
    )
    assert r.status_code == 409
    r = await client.post(
        f"/api/v1/devices/{a.id}/binding", headers=h, json={"officer_id": str(other)}
    )
    assert r.status_code == 201
    history = (await client.get(f"/api/v1/devices/{a.id}/bindings", headers=h)).json()["items"]
    assert [(x["officer_id"], x["ended_at"] is None) for x in history] == [
        (str(other), True),
        (str(officer), False),
    ]


async def test_binding_needs_an_officer_of_the_department(
    client: httpx.AsyncClient, db: Database, ps_operator: Actor
) -> None:
    recorder = await make_recorder(db)
    outsider = await make_officer(db, TRAFFIC_POLICE)
    for officer_id in [outsider, uuid.uuid4()]:
        r = await client.post(
            f"/api/v1/devices/{recorder.id}/binding",
            headers=ps_operator.headers,
            json={"officer_id": str(officer_id)},
        )
        assert (r.status_code, r.json()["error"]) == (422, "officer_not_in_department")


async def test_database_refuses_two_open_bindings(db: Database) -> None:
    recorder = await make_recorder(db)
    officer, other = await make_officer(db), await make_officer(db)
    async with db.transaction() as session:
        session.add(
            RecorderBinding(recorder_id=recorder.id, officer_id=officer, started_at=utcnow())
        )
    with pytest.raises(IntegrityError, match="uq_recorder_bindings_open_recorder"):
        async with db.transaction() as session:
            session.add(
                RecorderBinding(recorder_id=recorder.id, officer_id=other, started_at=utcnow())
            )
    async with db.transaction() as session:
        live = await session.scalar(
            select(DeviceCredential).where(DeviceCredential.recorder_id == recorder.id)
        )
    assert live is None


async def test_unknown_department_is_422(client: httpx.AsyncClient, db: Database) -> None:
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.PLATFORM_ADMIN]})
    r = await _create(client, admin, department_id=str(uuid.uuid4()))
    assert (r.status_code, r.json()["error"], r.json()["fields"]) == (
        422,
        "unknown_department",
        {"department_id": "no such department"},
    )
