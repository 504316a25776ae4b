"""Users administration over HTTP: scope, the granting rules, audit."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from citywitness.access.levels import Classification, Role
from citywitness.identity.models import ApiToken, ConsoleSession, User
from citywitness.identity.passwords import verify_password
from citywitness.kit.db import Database
from tests.factories import (
    PUBLIC_SECURITY,
    TRAFFIC_POLICE,
    URBAN_MANAGEMENT,
    Actor,
    make_actor,
)
from tests.identity.helpers import audit_rows, committed_user, login

USERS = "/api/v1/users"


async def _admin(db: Database, dept: uuid.UUID = PUBLIC_SECURITY, **kw: Any) -> Actor:
    return await make_actor(db, roles={dept: [Role.DEPARTMENT_ADMIN]}, **kw)


def _new_user(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": f"new-{uuid.uuid4().hex[:8]}",
        "display_name": "Wang Fang",
        "email": "wang.fang@example.org",
        "password": "a long enough password",
        "clearance": "internal",
        "memberships": [{"department_id": str(PUBLIC_SECURITY), "role": "officer"}],
    }
    body.update(overrides)
    return body


async def test_list_shows_only_users_in_scope_with_scoped_memberships(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await _admin(db)
    both = await committed_user(
        db,
        roles={PUBLIC_SECURITY: [Role.OFFICER], TRAFFIC_POLICE: [Role.OPERATOR]},
        username="aa-both",
    )
    await committed_user(db, roles={TRAFFIC_POLICE: [Role.OFFICER]}, username="aa-traffic")
    await committed_user(db, username="aa-nobody")
    response = await client.get(USERS, headers=admin.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [u["username"] for u in items] == sorted(["aa-both", admin.user.username])
    assert items[0]["id"] == str(both.id)
    assert [(m["department_id"], m["role"]) for m in items[0]["memberships"]] == [
        (str(PUBLIC_SECURITY), "officer")
    ]
    [event] = await audit_rows(db, "users.list")
    assert (event.actor_user_id, event.details) == (admin.user.id, {"count": 2, "cursor": None})

    platform = await make_actor(db, roles={URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]})
    everyone = (await client.get(USERS, headers=platform.headers)).json()["items"]
    names = [u["username"] for u in everyone]
    assert {"aa-both", "aa-traffic", "aa-nobody"} <= set(names)
    assert len(next(u for u in everyone if u["username"] == "aa-both")["memberships"]) == 2


async def test_keyset_pagination(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db, TRAFFIC_POLICE)
    for name in ("page-c", "page-a", "page-b"):
        await committed_user(db, roles={TRAFFIC_POLICE: [Role.OFFICER]}, username=name)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get(USERS, headers=admin.headers, params=params)).json()
        seen += [u["username"] for u in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([admin.user.username, "page-a", "page-b", "page-c"])
    assert pages == 2
    bad = await client.get(USERS, headers=admin.headers, params={"cursor": "!!!"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_cursor")
    too_many = await client.get(USERS, headers=admin.headers, params={"limit": "201"})
    assert too_many.status_code == 422


async def test_create_user_and_the_granting_rules(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db, clearance=Classification.SENSITIVE)
    body = _new_user()
    created = await client.post(USERS, headers=admin.headers, json=body)
    assert created.status_code == 201, created.text
    out = created.json()
    assert (out["username"], out["clearance"], out["is_active"]) == (
        body["username"],
        "internal",
        True,
    )
    assert [(m["department_id"], m["role"]) for m in out["memberships"]] == [
        (str(PUBLIC_SECURITY), "officer")
    ]
    async with db.transaction() as session:
        user = await session.get(User, uuid.UUID(out["id"]))
    assert user is not None and user.password_hash is not None
    assert verify_password(user.password_hash, "a long enough password")
    [event] = await audit_rows(db, "users.create")
    assert (event.actor_user_id, event.object_id, event.department_id) == (
        admin.user.id,
        out["id"],
        PUBLIC_SECURITY,
    )
    assert "password" not in str(event.details).replace("password_set", "")

    async def refused(**overrides: Any) -> tuple[int, str]:
        response = await client.post(USERS, headers=admin.headers, json=_new_user(**overrides))
        return response.status_code, response.json()["error"]

    other_dept = [{"department_id": str(TRAFFIC_POLICE), "role": "officer"}]
    assert await refused(memberships=other_dept) == (403, "permission_denied")
    platform = [{"department_id": str(PUBLIC_SECURITY), "role": "platform_admin"}]
    assert await refused(memberships=platform) == (403, "platform_admin_required")
    assert await refused(clearance="secret") == (403, "clearance_above_own")
    assert await refused(username=body["username"]) == (409, "username_taken")
    assert await refused(password="short") == (422, "weak_password")
    assert await refused(username="Bad Name!") == (422, "invalid_username")
    assert await refused(memberships=[]) == (422, "validation_failed")
    assert await refused(is_admin=True) == (422, "validation_failed")

    root = await make_actor(db, roles={PUBLIC_SECURITY: [Role.PLATFORM_ADMIN]})
    unknown = [{"department_id": str(uuid.uuid4()), "role": "officer"}]
    response = await client.post(USERS, headers=root.headers, json=_new_user(memberships=unknown))
    assert (response.status_code, response.json()["error"]) == (422, "unknown_department")


async def test_read_one_user(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    mine = await committed_user(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    theirs = await committed_user(db, roles={TRAFFIC_POLICE: [Role.OFFICER]})
    ok = await client.get(f"{USERS}/{mine.id}", headers=admin.headers)
    assert (ok.status_code, ok.json()["username"]) == (200, mine.username)
    [event] = await audit_rows(db, "users.read")
    assert (event.object_type, event.object_id, event.outcome) == ("user", str(mine.id), "success")
    for missing in (theirs.id, uuid.uuid4()):
        hidden = await client.get(f"{USERS}/{missing}", headers=admin.headers)
        assert (hidden.status_code, hidden.json()["error"]) == (404, "not_found")
    officer = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    assert (await client.get(f"{USERS}/{mine.id}", headers=officer.headers)).status_code == 403


async def test_disable_revokes_everything_and_enable(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await _admin(db)
    target = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    await login(client, target.user.username)
    disabled = await client.post(f"{USERS}/{target.user.id}/disable", headers=admin.headers)
    assert (disabled.status_code, disabled.json()["is_active"]) == (200, False)
    async with db.transaction() as session:
        sessions = list(
            await session.scalars(
                select(ConsoleSession.revoked_at).where(ConsoleSession.user_id == target.user.id)
            )
        )
        tokens = list(
            await session.scalars(
                select(ApiToken.revoked_at).where(ApiToken.user_id == target.user.id)
            )
        )
    assert len(sessions) == 1 and None not in sessions
    assert len(tokens) == 1 and None not in tokens
    assert (await client.get("/api/v1/auth/me", headers=target.headers)).status_code == 401
    assert (await login(client, target.user.username)).status_code == 401
    enabled = await client.post(f"{USERS}/{target.user.id}/enable", headers=admin.headers)
    assert (enabled.status_code, enabled.json()["is_active"]) == (200, True)
    assert (await login(client, target.user.username)).status_code == 200
    assert [e.action for e in await audit_rows(db, "users.disable")] == ["users.disable"]
    assert [e.action for e in await audit_rows(db, "users.enable")] == ["users.enable"]
    self_disable = await client.post(f"{USERS}/{admin.user.id}/disable", headers=admin.headers)
    assert (self_disable.status_code, self_disable.json()["error"]) == (409, "cannot_disable_self")


async def test_managing_an_account_needs_every_department_and_clearance(
    client: httpx.AsyncClient, db: Database
) -> None:
    admin = await _admin(db, clearance=Classification.INTERNAL)
    shared = await committed_user(
        db, roles={PUBLIC_SECURITY: [Role.OFFICER], TRAFFIC_POLICE: [Role.OFFICER]}
    )
    higher = await committed_user(
        db, roles={PUBLIC_SECURITY: [Role.OFFICER]}, clearance=Classification.SECRET
    )
    root = await committed_user(db, roles={PUBLIC_SECURITY: [Role.PLATFORM_ADMIN]})
    for target, code in (
        (shared, "permission_denied"),
        (higher, "clearance_above_own"),
        (root, "platform_admin_required"),
    ):
        for path in ("disable", "enable"):
            response = await client.post(f"{USERS}/{target.id}/{path}", headers=admin.headers)
            assert (response.status_code, response.json()["error"]) == (403, code)
        reset = await client.post(
            f"{USERS}/{target.id}/password",
            headers=admin.headers,
            json={"password": "another long password"},
        )
        assert (reset.status_code, reset.json()["error"]) == (403, code)


async def test_admin_password_reset(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    target = await committed_user(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    url = f"{USERS}/{target.id}/password"
    weak = await client.post(url, headers=admin.headers, json={"password": "short"})
    assert (weak.status_code, weak.json()["error"]) == (422, "weak_password")
    reset = await client.post(
        url, headers=admin.headers, json={"password": "a fresh long password"}
    )
    assert reset.status_code == 204
    assert (await login(client, target.username)).status_code == 401
    assert (await login(client, target.username, "a fresh long password")).status_code == 200
    [event] = await audit_rows(db, "users.password.reset")
    assert (event.object_id, event.details) == (str(target.id), {})


async def test_memberships_add_and_remove(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    target = await committed_user(
        db, roles={PUBLIC_SECURITY: [Role.OFFICER], TRAFFIC_POLICE: [Role.OFFICER]}
    )
    url = f"{USERS}/{target.id}/memberships"
    body = {"department_id": str(PUBLIC_SECURITY), "role": "investigator"}
    added = await client.post(url, headers=admin.headers, json=body)
    assert added.status_code == 201, added.text
    again = await client.post(url, headers=admin.headers, json=body)
    assert again.json()["id"] == added.json()["id"]
    foreign = await client.post(
        url, headers=admin.headers, json={"department_id": str(TRAFFIC_POLICE), "role": "operator"}
    )
    assert (foreign.status_code, foreign.json()["error"]) == (403, "permission_denied")
    elevate = await client.post(
        url,
        headers=admin.headers,
        json={"department_id": str(PUBLIC_SECURITY), "role": "platform_admin"},
    )
    assert (elevate.status_code, elevate.json()["error"]) == (403, "platform_admin_required")

    full = (await client.get(f"{USERS}/{target.id}", headers=admin.headers)).json()
    assert sorted(m["role"] for m in full["memberships"]) == ["investigator", "officer"]
    async with db.transaction() as session:
        from citywitness.identity.models import Membership

        traffic_id = await session.scalar(
            select(Membership.id).where(
                Membership.user_id == target.id, Membership.department_id == TRAFFIC_POLICE
            )
        )
    hidden = await client.delete(f"{url}/{traffic_id}", headers=admin.headers)
    assert (hidden.status_code, hidden.json()["error"]) == (404, "not_found")
    removed = await client.delete(f"{url}/{added.json()['id']}", headers=admin.headers)
    assert removed.status_code == 204
    assert (
        await client.delete(f"{url}/{added.json()['id']}", headers=admin.headers)
    ).status_code == 404
    added_events = await audit_rows(db, "users.memberships.add")
    actions = [e.details["role"] for e in added_events if e.outcome == "success"]
    assert actions == ["investigator", "investigator"]
    [removal] = [
        e for e in await audit_rows(db, "users.memberships.remove") if e.outcome == "success"
    ]
    assert (removal.department_id, removal.details["role"]) == (PUBLIC_SECURITY, "investigator")
