"""API tokens over HTTP: shown once, stored as SHA-256, expiry, revocation, scopes."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from citywitness.access.levels import Role
from citywitness.access.permissions import Permission
from citywitness.identity.models import ApiToken
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.hashing import sha256_hex
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor
from tests.identity.helpers import audit_rows, committed_user, login, session_headers

TOKENS = "/api/v1/auth/tokens"


async def _session(client: httpx.AsyncClient, db: Database, role: Role) -> dict[str, str]:
    user = await committed_user(db, roles={PUBLIC_SECURITY: [role]})
    return session_headers(await login(client, user.username))


async def test_secret_is_shown_once_and_stored_only_as_sha256(
    client: httpx.AsyncClient, db: Database
) -> None:
    headers = await _session(client, db, Role.DEPARTMENT_ADMIN)
    created = await client.post(
        TOKENS,
        headers=headers,
        json={"name": "export script", "scopes": ["users:read"], "expires_in_days": 30},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    token = body["token"]
    assert secret.startswith(f"cwt_{token['prefix']}_")
    assert (token["name"], token["scopes"], token["revoked_at"]) == (
        "export script",
        ["users:read"],
        None,
    )
    async with db.transaction() as session:
        row = await session.get(ApiToken, token["id"])
    assert row is not None
    assert row.token_hash == sha256_hex(secret)
    assert secret not in str(
        [row.name, row.prefix, row.token_hash, row.scopes]
    )  # nothing stored holds the secret
    listed = await client.get(TOKENS, headers=headers)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [token["id"]]
    assert secret not in listed.text
    assert row.token_hash not in listed.text
    assert set(listed.json()[0]) == {
        "id",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    }
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert (me.json()["auth_method"], me.json()["scopes"]) == ("token", ["users:read"])
    assert me.json()["permissions"] == ["users:read"]
    [event] = await audit_rows(db, "auth.tokens.create")
    assert (event.object_id, event.details["scopes"]) == (token["id"], ["users:read"])
    assert secret not in str(event.details)


async def test_token_body_rules(client: httpx.AsyncClient, db: Database) -> None:
    headers = await _session(client, db, Role.OFFICER)

    async def create(scopes: list[str], days: int) -> httpx.Response:
        return await client.post(
            TOKENS, headers=headers, json={"name": "t", "scopes": scopes, "expires_in_days": days}
        )

    too_long = await create(["evidence:read"], 366)
    assert (too_long.status_code, too_long.json()["error"]) == (422, "token_lifetime_too_long")
    not_held = await create(["users:manage"], 1)
    assert (not_held.status_code, not_held.json()["error"]) == (422, "invalid_scopes")
    unknown = await create(["evidence:eat"], 1)
    assert (unknown.status_code, unknown.json()["error"]) == (422, "validation_failed")
    none = await create([], 1)
    assert none.status_code == 422
    assert (await create(["evidence:read"], 365)).status_code == 201


async def test_expired_and_revoked_tokens_are_invalid_credentials(
    client: httpx.AsyncClient, db: Database
) -> None:
    actor = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    assert (await client.get("/api/v1/auth/me", headers=actor.headers)).status_code == 200
    async with db.transaction() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == actor.user.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await client.get("/api/v1/auth/me", headers=actor.headers)
    assert (expired.status_code, expired.json()["error"]) == (401, "invalid_credentials")

    other = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    async with db.transaction() as session:
        token_id = await session.scalar(
            select(ApiToken.id).where(ApiToken.user_id == other.user.id)
        )
    revoked = await client.delete(f"{TOKENS}/{token_id}", headers=other.headers)
    assert revoked.status_code == 204
    after = await client.get("/api/v1/auth/me", headers=other.headers)
    assert (after.status_code, after.json()["error"]) == (401, "invalid_credentials")
    [event] = await audit_rows(db, "auth.tokens.revoke")
    assert (event.actor_user_id, event.object_id) == (other.user.id, str(token_id))


async def test_scopes_limit_what_a_token_may_do(client: httpx.AsyncClient, db: Database) -> None:
    admin = await make_actor(
        db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]}, scopes=[Permission.USERS_READ]
    )
    listed = await client.get("/api/v1/users", headers=admin.headers)
    assert listed.status_code == 200
    target = await committed_user(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    refused = await client.post(f"/api/v1/users/{target.id}/disable", headers=admin.headers)
    assert (refused.status_code, refused.json()["error"]) == (403, "permission_denied")


async def test_revoking_someone_elses_token(client: httpx.AsyncClient, db: Database) -> None:
    owner = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    async with db.transaction() as session:
        token_id = await session.scalar(
            select(ApiToken.id).where(ApiToken.user_id == owner.user.id)
        )
    stranger = await make_actor(db, roles={TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]})
    hidden = await client.delete(f"{TOKENS}/{token_id}", headers=stranger.headers)
    assert (hidden.status_code, hidden.json()["error"]) == (404, "not_found")
    colleague = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    assert (
        await client.delete(f"{TOKENS}/{token_id}", headers=colleague.headers)
    ).status_code == 404
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    assert (await client.delete(f"{TOKENS}/{token_id}", headers=admin.headers)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=owner.headers)).status_code == 401
