"""Grants end to end, on officers (the object type agencies registers)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from citywitness.access.levels import Role
from citywitness.access.models import Grant
from citywitness.agencies.models import Officer
from citywitness.agencies.service import ensure_officer
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.agencies.conftest import events
from tests.factories import (
    PUBLIC_SECURITY,
    TRAFFIC_POLICE,
    URBAN_MANAGEMENT,
    Actor,
    make_actor,
)

GRANTS = "/api/v1/grants"


@pytest.fixture
async def officer(db: Database) -> Officer:
    async with db.transaction() as session:
        return await ensure_officer(
            session, badge_number="G-1", display_name="Granted", department_id=PUBLIC_SECURITY
        )


@pytest.fixture
async def granter(db: Database) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})


@pytest.fixture
async def outsider(db: Database) -> Actor:
    return await make_actor(db, roles={TRAFFIC_POLICE: [Role.OFFICER]})


def grant_body(officer: Officer, **overrides: object) -> dict[str, object]:
    return {
        "object_type": "officer",
        "object_id": str(officer.id),
        "permission": "officers:read",
        "reason": "joint investigation 2026-114",
    } | overrides


async def test_grant_to_a_user_opens_the_officer_and_revoke_closes_it(
    client: httpx.AsyncClient, db: Database, officer: Officer, granter: Actor, outsider: Actor
) -> None:
    url = f"/api/v1/officers/{officer.id}"
    assert (await client.get(url, headers=outsider.headers)).status_code == 404
    created = await client.post(
        GRANTS,
        headers=granter.headers,
        json=grant_body(officer, grantee_user_id=str(outsider.user.id)),
    )
    assert created.status_code == 201, created.text
    grant = created.json()
    assert grant == {
        "id": grant["id"],
        "object_type": "officer",
        "object_id": str(officer.id),
        "permission": "officers:read",
        "grantee_user_id": str(outsider.user.id),
        "grantee_department_id": None,
        "granted_by": str(granter.user.id),
        "reason": "joint investigation 2026-114",
        "created_at": grant["created_at"],
        "expires_at": None,
        "revoked_at": None,
        "active": True,
    }
    assert (await client.get(url, headers=outsider.headers)).status_code == 200
    listed = await client.get("/api/v1/officers", headers=outsider.headers)
    assert [o["id"] for o in listed.json()["items"]] == [str(officer.id)]
    patch = await client.patch(url, headers=outsider.headers, json={"active": False})
    assert (patch.status_code, patch.json()["error"]) == (403, "permission_denied")

    revoked = await client.delete(f"{GRANTS}/{grant['id']}", headers=granter.headers)
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get(url, headers=outsider.headers)).status_code == 404
    again = await client.delete(f"{GRANTS}/{grant['id']}", headers=granter.headers)
    assert (again.status_code, again.json()["error"]) == (409, "grant_revoked")

    details = {
        "target_type": "officer",
        "target_id": str(officer.id),
        "permission": "officers:read",
        "grantee_user_id": str(outsider.user.id),
        "grantee_department_id": None,
        "expires_at": None,
    }
    assert await events(db, granter, "grants.") == [
        {
            "action": action,
            "outcome": "success",
            "object_type": "grant",
            "object_id": grant["id"],
            "department_id": PUBLIC_SECURITY,
            "details": details,
        }
        for action in ("grants.create", "grants.revoke")
    ]


async def test_grant_to_a_department_and_listing(
    client: httpx.AsyncClient, db: Database, officer: Officer, granter: Actor, outsider: Actor
) -> None:
    soon = (utcnow() + timedelta(days=2)).isoformat()
    created = await client.post(
        GRANTS,
        headers=granter.headers,
        json=grant_body(officer, grantee_department_id=str(TRAFFIC_POLICE), expires_at=soon),
    )
    assert created.status_code == 201
    assert created.json()["expires_at"] is not None
    url = f"/api/v1/officers/{officer.id}"
    assert (await client.get(url, headers=outsider.headers)).status_code == 200
    urban = await make_actor(db, roles={URBAN_MANAGEMENT: [Role.OFFICER]})
    assert (await client.get(url, headers=urban.headers)).status_code == 404
    params = {"object_type": "officer", "object_id": str(officer.id)}
    listed = await client.get(GRANTS, headers=granter.headers, params=params)
    assert listed.status_code == 200
    assert [g["id"] for g in listed.json()["items"]] == [created.json()["id"]]
    assert [(e["action"], e["details"]) for e in await events(db, granter, "grants.list")] == [
        ("grants.list", {"count": 1})
    ]


async def test_only_grants_managers_of_the_owning_department_may_grant(
    client: httpx.AsyncClient, db: Database, officer: Officer, outsider: Actor
) -> None:
    payload = grant_body(officer, grantee_user_id=str(outsider.user.id))
    ps_officer = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    refused = await client.post(GRANTS, headers=ps_officer.headers, json=payload)
    assert (refused.status_code, refused.json()["error"]) == (403, "permission_denied")
    traffic_admin = await make_actor(db, roles={TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]})
    hidden = await client.post(GRANTS, headers=traffic_admin.headers, json=payload)
    assert (hidden.status_code, hidden.json()["error"]) == (404, "not_found")
    missing = await client.post(
        GRANTS,
        headers=traffic_admin.headers,
        json=grant_body(
            officer, object_id=str(uuid.uuid4()), grantee_user_id=str(outsider.user.id)
        ),
    )
    assert missing.status_code == 404
    params = {"object_type": "officer", "object_id": str(officer.id)}
    assert (await client.get(GRANTS, headers=ps_officer.headers, params=params)).status_code == 403
    assert (
        await client.get(GRANTS, headers=traffic_admin.headers, params=params)
    ).status_code == 404
    unknown = await client.delete(f"{GRANTS}/{uuid.uuid4()}", headers=traffic_admin.headers)
    assert unknown.status_code == 404


async def test_grant_validation(
    client: httpx.AsyncClient, officer: Officer, granter: Actor, outsider: Actor
) -> None:
    user = str(outsider.user.id)
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    cases = [
        (grant_body(officer, object_type="spaceship", grantee_user_id=user), "unknown_object_type"),
        (
            grant_body(officer, permission="officers:manage", grantee_user_id=user),
            "permission_not_grantable",
        ),
        (grant_body(officer, permission="officers:fly", grantee_user_id=user), "validation_failed"),
        (grant_body(officer), "validation_failed"),
        (
            grant_body(officer, grantee_user_id=user, grantee_department_id=str(TRAFFIC_POLICE)),
            "validation_failed",
        ),
        (grant_body(officer, grantee_user_id=user, reason="   "), "validation_failed"),
        (grant_body(officer, grantee_user_id=user, reason=""), "validation_failed"),
        (grant_body(officer, grantee_user_id=user, expires_at=past), "expiry_in_past"),
        (
            grant_body(officer, grantee_user_id=user, expires_at="2030-01-01T00:00:00"),
            "validation_failed",
        ),
        (grant_body(officer, grantee_user_id=str(uuid.uuid4())), "unknown_grantee"),
        (grant_body(officer, grantee_department_id=str(uuid.uuid4())), "unknown_grantee"),
        (grant_body(officer, grantee_user_id=user, scope="all"), "validation_failed"),
    ]
    for payload, code in cases:
        response = await client.post(GRANTS, headers=granter.headers, json=payload)
        assert (response.status_code, response.json()["error"]) == (422, code), payload
    listed = await client.get(
        GRANTS,
        headers=granter.headers,
        params={"object_type": "officer", "object_id": str(officer.id)},
    )
    assert listed.json()["items"] == []


async def test_expired_grant_is_listed_but_inactive(
    client: httpx.AsyncClient, db: Database, officer: Officer, granter: Actor, outsider: Actor
) -> None:
    async with db.transaction() as session:
        session.add(
            Grant(
                object_type="officer",
                object_id=officer.id,
                permission="officers:read",
                grantee_user_id=outsider.user.id,
                granted_by=granter.user.id,
                reason="old",
                expires_at=utcnow() - timedelta(hours=1),
            )
        )
    params = {"object_type": "officer", "object_id": str(officer.id)}
    listed = await client.get(GRANTS, headers=granter.headers, params=params)
    assert [(g["reason"], g["active"]) for g in listed.json()["items"]] == [("old", False)]
    url = f"/api/v1/officers/{officer.id}"
    assert (await client.get(url, headers=outsider.headers)).status_code == 404
