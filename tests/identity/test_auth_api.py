"""Login, logout, /auth/me: cookies, CSRF, failure bookkeeping and the audit trail."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from citywitness.access.levels import Classification, Role
from citywitness.app import create_app
from citywitness.identity.models import ConsoleSession, User
from citywitness.kit.db import Database
from citywitness.kit.hashing import sha256_hex
from citywitness.settings import Settings
from tests.factories import PASSWORD, PUBLIC_SECURITY
from tests.identity.helpers import (
    audit_fields,
    audit_rows,
    committed_user,
    login,
    session_headers,
    set_cookies,
)

CLIENT_IP = "203.0.113.7"


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_login_sets_strict_cookies_and_audits(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await committed_user(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    response = await login(client, user.username.upper())
    assert response.status_code == 200, response.text
    body = response.json()
    cookies = set_cookies(response)
    session_cookie, csrf_cookie = cookies["cw_session"], cookies["cw_csrf"]
    assert (session_cookie["httponly"], session_cookie["secure"]) == (True, True)
    assert (session_cookie["samesite"], session_cookie["path"]) == ("strict", "/")
    assert session_cookie["max-age"] == "28800"
    assert (csrf_cookie["httponly"], csrf_cookie["secure"]) == ("", True)
    assert (csrf_cookie["samesite"], csrf_cookie["path"]) == ("strict", "/")
    assert body["csrf_token"] == csrf_cookie.value
    assert body["user"]["username"] == user.username
    assert body["user"]["memberships"][0]["role"] == "investigator"
    async with db.transaction() as session:
        stored = await session.scalar(
            select(ConsoleSession).where(ConsoleSession.user_id == user.id)
        )
    assert stored is not None
    assert stored.token_hash == sha256_hex(session_cookie.value)
    assert stored.csrf_hash == sha256_hex(csrf_cookie.value)
    assert (stored.auth_method, stored.client_address) == ("password", CLIENT_IP)
    assert body["expires_at"] == stored.expires_at.isoformat().replace("+00:00", "Z")
    [event] = await audit_rows(db, "auth.login")
    assert audit_fields(event) == {
        "actor_user_id": user.id,
        "actor_kind": "user",
        "department_id": None,
        "action": "auth.login",
        "object_type": "user",
        "object_id": str(user.id),
        "outcome": "success",
        "client_address": CLIENT_IP,
        "request_id": response.headers["x-request-id"],
        "reason": None,
        "details": {"method": "password", "session_id": str(stored.id)},
    }


async def test_cookies_are_not_secure_when_configured_off(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    relaxed = settings.model_copy(
        update={"auth": settings.auth.model_copy(update={"cookie_secure": False})}
    )
    user = await committed_user(db)
    async with _client(create_app(relaxed, db)) as client:
        cookies = set_cookies(await login(client, user.username))
    assert (cookies["cw_session"]["secure"], cookies["cw_csrf"]["secure"]) == ("", "")
    assert cookies["cw_session"]["httponly"] is True


async def test_wrong_password_and_unknown_user_look_the_same_and_are_audited(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await committed_user(db)
    wrong = await login(client, user.username, "not the password")
    unknown = await login(client, "no-such-user", PASSWORD)
    expected = {"error": "login_failed", "detail": "Wrong username or password.", "fields": None}
    assert (wrong.status_code, wrong.json()) == (401, expected)
    assert (unknown.status_code, unknown.json()) == (401, expected)
    assert "set-cookie" not in wrong.headers
    first, second = await audit_rows(db, "auth.login")
    assert audit_fields(first) == {
        "actor_user_id": None,
        "actor_kind": "anonymous",
        "department_id": None,
        "action": "auth.login",
        "object_type": "user",
        "object_id": str(user.id),
        "outcome": "failure",
        "client_address": CLIENT_IP,
        "request_id": wrong.headers["x-request-id"],
        "reason": None,
        "details": {
            "method": "password",
            "username": user.username,
            "reason": "wrong_password",
            "failed_logins": 1,
        },
    }
    assert (second.object_id, second.outcome, second.details) == (
        None,
        "failure",
        {"method": "password", "username": "no-such-user", "reason": "unknown_user"},
    )
    assert "not the password" not in str(first.details)


async def test_failures_persist_and_lock_the_account(settings: Settings, db: Database) -> None:
    strict = settings.model_copy(
        update={"auth": settings.auth.model_copy(update={"lockout_threshold": 2})}
    )
    user = await committed_user(db)
    async with _client(create_app(strict, db)) as client:
        assert (await login(client, user.username, "wrong one")).status_code == 401
        assert (await login(client, user.username, "wrong two")).status_code == 401
        locked = await login(client, user.username)  # the right password
    assert locked.status_code == 429
    assert locked.json()["error"] == "account_locked"
    assert 1 <= int(locked.headers["retry-after"]) <= 30
    async with db.transaction() as session:
        stored = await session.get(User, user.id, populate_existing=True)
    assert stored is not None
    assert stored.failed_logins == 2
    assert stored.locked_until is not None
    [lockout] = await audit_rows(db, "auth.lockout")
    assert (lockout.object_id, lockout.outcome, lockout.details) == (
        str(user.id),
        "success",
        {"failed_logins": 2, "locked_until": stored.locked_until.isoformat()},
    )
    reasons = [e.details["reason"] for e in await audit_rows(db, "auth.login")]
    assert reasons == ["wrong_password", "wrong_password", "account_locked"]


async def test_disabled_user_gets_login_failed(client: httpx.AsyncClient, db: Database) -> None:
    user = await committed_user(db)
    async with db.transaction() as session:
        stored = await session.get(User, user.id)
        assert stored is not None
        stored.is_active = False
    response = await login(client, user.username)
    assert (response.status_code, response.json()["error"]) == (401, "login_failed")
    [event] = await audit_rows(db, "auth.login")
    assert event.details["reason"] == "account_disabled"


async def test_me_with_a_session_cookie(client: httpx.AsyncClient, db: Database) -> None:
    user = await committed_user(
        db, roles={PUBLIC_SECURITY: [Role.AUDITOR]}, clearance=Classification.SENSITIVE
    )
    logged_in = await login(client, user.username)
    response = await client.get("/api/v1/auth/me", headers=session_headers(logged_in, csrf=False))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["auth_method"] == "password"
    assert body["scopes"] is None
    assert body["platform_admin"] is False
    assert body["user"]["clearance"] == "sensitive"
    expected = [
        "audit:read",
        "departments:read",
        "evidence:read",
        "ledger:read",
        "officers:read",
        "users:read",
    ]
    assert body["permissions"] == expected
    assert body["departments"] == [
        {"department_id": str(PUBLIC_SECURITY), "roles": ["auditor"], "permissions": expected}
    ]


async def test_csrf_is_required_for_cookie_authenticated_writes(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await committed_user(db)
    logged_in = await login(client, user.username)
    without = session_headers(logged_in, csrf=False)
    refused = await client.post("/api/v1/auth/logout", headers=without)
    assert (refused.status_code, refused.json()["error"]) == (403, "csrf_failed")
    wrong = {**without, "X-CSRF-Token": "not-the-token"}
    assert (await client.post("/api/v1/auth/logout", headers=wrong)).status_code == 403
    denials = await audit_rows(db, "auth.csrf")
    assert [(e.outcome, e.details["code"], e.actor_user_id) for e in denials] == [
        ("denied", "csrf_failed", user.id)
    ] * 2
    ok = await client.post("/api/v1/auth/logout", headers=session_headers(logged_in))
    assert ok.status_code == 204
    cleared = set_cookies(ok)
    assert (cleared["cw_session"].value, cleared["cw_session"]["max-age"]) == ("", "0")
    assert cleared["cw_csrf"]["max-age"] == "0"
    after = await client.get("/api/v1/auth/me", headers=without)
    assert (after.status_code, after.json()["error"]) == (401, "invalid_credentials")
    [logout] = await audit_rows(db, "auth.logout")
    assert (logout.actor_user_id, logout.object_type) == (user.id, "console_session")


async def test_logout_with_a_token_only_clears_cookies(
    client: httpx.AsyncClient, db: Database
) -> None:
    from tests.factories import make_actor

    actor = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    response = await client.post("/api/v1/auth/logout", headers=actor.headers)
    assert response.status_code == 204
    assert await audit_rows(db, "auth.logout") == []
    assert (await client.get("/api/v1/auth/me", headers=actor.headers)).status_code == 200


async def test_login_rejects_unknown_fields_and_anonymous_me(client: httpx.AsyncClient) -> None:
    extra = await client.post(
        "/api/v1/auth/login", json={"username": "a", "password": "b", "remember": True}
    )
    assert (extra.status_code, extra.json()["error"]) == (422, "validation_failed")
    me = await client.get("/api/v1/auth/me")
    assert (me.status_code, me.json()["error"]) == (401, "not_authenticated")
