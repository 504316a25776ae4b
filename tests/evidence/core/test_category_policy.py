"""PATCH /evidence/categories/{id}: a category's retention policy (platform admins only)."""

from __future__ import annotations

import uuid

import httpx

from citywitness.access.levels import Role
from citywitness.kit.db import Database
from tests.evidence.core.helpers import audit_events
from tests.factories import PUBLIC_SECURITY, URBAN_MANAGEMENT, make_actor

ACTION = "evidence.categories.update"


async def _category(
    client: httpx.AsyncClient, headers: dict[str, str], code: str
) -> dict[str, object]:
    response = await client.get("/api/v1/evidence/categories", headers=headers)
    assert response.status_code == 200
    return next(c for c in response.json()["items"] if c["code"] == code)


async def test_a_platform_admin_changes_the_keep_period(
    db: Database, client: httpx.AsyncClient
) -> None:
    admin = await make_actor(db, roles={URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]})
    before = await _category(client, admin.headers, "non-evidentiary")
    assert before["retention_days"] == 180
    url = f"/api/v1/evidence/categories/{before['id']}"
    try:
        response = await client.patch(
            url, headers=admin.headers, json={"retention_days": 365, "legal_basis": "policy 7"}
        )
        assert response.status_code == 200, response.text
        assert (response.json()["retention_days"], response.json()["legal_basis"]) == (
            365,
            "policy 7",
        )
        after = await _category(client, admin.headers, "non-evidentiary")
        assert after["retention_days"] == 365
        # the same values again change nothing and are not audited twice
        again = await client.patch(url, headers=admin.headers, json={"retention_days": 365})
        assert again.status_code == 200
        [event] = await audit_events(db, ACTION)
        assert (event.actor_user_id, event.object_type, event.object_id) == (
            admin.user.id,
            "evidence_category",
            before["id"],
        )
        assert event.details == {
            "code": "non-evidentiary",
            "before": {"retention_days": 180, "legal_basis": before["legal_basis"]},
            "after": {"retention_days": 365, "legal_basis": "policy 7"},
        }
        permanent = await client.patch(url, headers=admin.headers, json={"retention_days": None})
        assert permanent.json()["retention_days"] is None
    finally:
        restore = {"retention_days": 180, "legal_basis": before["legal_basis"]}
        assert (await client.patch(url, headers=admin.headers, json=restore)).status_code == 200


async def test_department_roles_cannot_change_a_policy(
    db: Database, client: httpx.AsyncClient
) -> None:
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    category = await _category(client, investigator.headers, "non-evidentiary")
    response = await client.patch(
        f"/api/v1/evidence/categories/{category['id']}",
        headers=investigator.headers,
        json={"retention_days": 1},
    )
    assert (response.status_code, response.json()["error"]) == (403, "permission_denied")
    assert (await _category(client, investigator.headers, "non-evidentiary"))[
        "retention_days"
    ] == 180
    # the refusal itself is audited, as every denial is
    assert [e.outcome for e in await audit_events(db, ACTION)] == ["denied"]


async def test_bad_input_is_422_and_an_unknown_category_404(
    db: Database, client: httpx.AsyncClient
) -> None:
    admin = await make_actor(db, roles={URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]})
    category = await _category(client, admin.headers, "non-evidentiary")
    url = f"/api/v1/evidence/categories/{category['id']}"
    for body in ({"retention_days": 0}, {"retention_days": "long"}, {"colour": "red"}):
        response = await client.patch(url, headers=admin.headers, json=body)
        assert response.status_code == 422, body
    missing = await client.patch(
        f"/api/v1/evidence/categories/{uuid.uuid4()}",
        headers=admin.headers,
        json={"retention_days": 30},
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "category_not_found")
    assert await audit_events(db, ACTION) == []
