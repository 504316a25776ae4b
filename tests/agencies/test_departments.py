from __future__ import annotations

import uuid

import httpx

from citywitness.access.levels import Role
from citywitness.kit.db import Database
from tests.agencies.conftest import events
from tests.factories import (
    EMERGENCY_MANAGEMENT,
    PUBLIC_SECURITY,
    TRAFFIC_POLICE,
    URBAN_MANAGEMENT,
    Actor,
    make_actor,
)

SEEDED_CODES = ["emergency-management", "public-security", "traffic-police", "urban-management"]


async def test_every_reader_sees_every_department(
    client: httpx.AsyncClient, db: Database, ps_officer: Actor
) -> None:
    response = await client.get("/api/v1/departments", headers=ps_officer.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [d["code"] for d in items] == SEEDED_CODES
    assert items[1] == {
        "id": str(PUBLIC_SECURITY),
        "code": "public-security",
        "name": "Public Security Bureau",
        "name_zh": "公安局",
        "kind": "public_security",
        "reason_required_for_playback": True,
        "created_at": items[1]["created_at"],
    }
    assert await events(db, ps_officer) == [
        {
            "action": "departments.list",
            "outcome": "success",
            "object_type": None,
            "object_id": None,
            "department_id": None,
            "details": {"count": 4},
        }
    ]


async def test_read_one_department_from_another_department(
    client: httpx.AsyncClient, db: Database
) -> None:
    traffic = await make_actor(db, roles={TRAFFIC_POLICE: [Role.OPERATOR]})
    response = await client.get(
        f"/api/v1/departments/{EMERGENCY_MANAGEMENT}", headers=traffic.headers
    )
    assert response.status_code == 200
    assert response.json()["code"] == "emergency-management"
    missing = await client.get(f"/api/v1/departments/{uuid.uuid4()}", headers=traffic.headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert [e["action"] for e in await events(db, traffic)] == ["departments.read"]


async def test_list_needs_departments_read(client: httpx.AsyncClient, db: Database) -> None:
    nobody = await make_actor(db)
    response = await client.get("/api/v1/departments", headers=nobody.headers)
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert await events(db, nobody) == [
        {
            "action": "departments.list",
            "outcome": "denied",
            "object_type": None,
            "object_id": None,
            "department_id": None,
            "details": {
                "code": "permission_denied",
                "method": "GET",
                "path": "/api/v1/departments",
            },
        }
    ]


async def test_platform_admin_creates_a_department(
    client: httpx.AsyncClient, db: Database, admin: Actor
) -> None:
    body = {"code": "fire-rescue", "name": "Fire and Rescue", "kind": "other"}
    response = await client.post("/api/v1/departments", headers=admin.headers, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert {k: created[k] for k in ("code", "name", "name_zh", "kind")} == {
        "code": "fire-rescue",
        "name": "Fire and Rescue",
        "name_zh": None,
        "kind": "other",
    }
    assert created["reason_required_for_playback"] is False
    again = await client.post("/api/v1/departments", headers=admin.headers, json=body)
    assert again.status_code == 409
    assert again.json()["error"] == "department_code_taken"
    assert [(e["action"], e["object_id"]) for e in await events(db, admin)] == [
        ("departments.create", created["id"])
    ]


async def test_department_admin_cannot_create_departments(
    client: httpx.AsyncClient, ps_admin: Actor
) -> None:
    body = {"code": "fire-rescue", "name": "Fire and Rescue", "kind": "other"}
    response = await client.post("/api/v1/departments", headers=ps_admin.headers, json=body)
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


async def test_create_department_validation(client: httpx.AsyncClient, admin: Actor) -> None:
    cases = [
        ({"code": "Bad Code", "name": "x", "kind": "other"}, "code"),
        ({"code": "ok", "name": "", "kind": "other"}, "name"),
        ({"code": "ok", "name": "x", "kind": "army"}, "kind"),
        ({"code": "ok", "name": "x", "kind": "other", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = await client.post("/api/v1/departments", headers=admin.headers, json=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "validation_failed"
        assert list(response.json()["fields"]) == [field]


async def test_patch_department(client: httpx.AsyncClient, db: Database, admin: Actor) -> None:
    url = f"/api/v1/departments/{URBAN_MANAGEMENT}"
    response = await client.patch(
        url, headers=admin.headers, json={"name": "City Management", "name_zh": None}
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["name_zh"]) == ("City Management", None)
    unchanged = await client.patch(url, headers=admin.headers, json={"name": "City Management"})
    assert unchanged.status_code == 200
    refused = await client.patch(url, headers=admin.headers, json={"name": None})
    assert refused.status_code == 422
    assert refused.json()["fields"] == {"body": "Value error, name cannot be null"}
    code = await client.patch(url, headers=admin.headers, json={"code": "x"})
    assert code.status_code == 422
    assert await events(db, admin, "departments.") == [
        {
            "action": "departments.update",
            "outcome": "success",
            "object_type": "department",
            "object_id": str(URBAN_MANAGEMENT),
            "department_id": URBAN_MANAGEMENT,
            "details": {"changed": ["name", "name_zh"]},
        }
    ]


async def test_patch_department_needs_manage_in_it(
    client: httpx.AsyncClient, ps_admin: Actor, admin: Actor
) -> None:
    own = await client.patch(
        f"/api/v1/departments/{PUBLIC_SECURITY}", headers=ps_admin.headers, json={"name": "PSB"}
    )
    assert own.status_code == 403
    missing = await client.patch(
        f"/api/v1/departments/{uuid.uuid4()}", headers=admin.headers, json={"name": "x"}
    )
    assert missing.status_code == 404
