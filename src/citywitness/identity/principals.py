"""Turn a session cookie or a bearer token into a `Principal`."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.identity.models import ApiToken, ConsoleSession, Membership, User
from citywitness.kit.clock import utcnow
from citywitness.kit.hashing import sha256_hex

TOKEN_PREFIX = "cwt_"  # noqa: S105 - a public marker, not a secret


async def load_principal(
    session: AsyncSession,
    user: User,
    *,
    scopes: frozenset[Permission] | None = None,
    auth_method: str = "session",
) -> Principal:
    rows = await session.execute(
        select(Membership.department_id, Membership.role).where(Membership.user_id == user.id)
    )
    roles: dict[uuid.UUID, set[Role]] = {}
    for department_id, role in rows:
        roles.setdefault(department_id, set()).add(Role(role))
    return Principal(
        user_id=user.id,
        username=user.username,
        clearance=Classification(user.clearance),
        roles={dept: frozenset(r) for dept, r in roles.items()},
        scopes=scopes,
        auth_method=auth_method,
    )


async def principal_from_session(
    session: AsyncSession, token: str, idle_seconds: int
) -> tuple[Principal, ConsoleSession] | None:
    """The principal of a live console session, sliding its idle timer; None if invalid."""
    now = utcnow()
    row = (
        await session.execute(
            select(ConsoleSession, User)
            .join(User, User.id == ConsoleSession.user_id)
            .where(ConsoleSession.token_hash == sha256_hex(token))
        )
    ).first()
    if row is None:
        return None
    console_session, user = row
    if (
        console_session.revoked_at is not None
        or console_session.expires_at <= now
        or console_session.last_seen_at + timedelta(seconds=idle_seconds) <= now
        or not user.is_active
    ):
        return None
    if now - console_session.last_seen_at > timedelta(seconds=30):
        await session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == console_session.id)
            .values(last_seen_at=now)
        )
    principal = await load_principal(session, user, auth_method=console_session.auth_method)
    return principal, console_session


def parse_token(raw: str) -> tuple[str, str] | None:
    """Split `cwt_<prefix>_<secret>` into (prefix, full token); None if malformed."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    rest = raw[len(TOKEN_PREFIX) :]
    prefix, sep, secret = rest.partition("_")
    if not sep or len(prefix) != 8 or len(secret) < 20:
        return None
    return prefix, raw


async def principal_from_token(session: AsyncSession, raw: str) -> Principal | None:
    """The principal of a live API token, limited to its scopes; None if invalid."""
    parsed = parse_token(raw)
    if parsed is None:
        return None
    prefix, token = parsed
    now = utcnow()
    row = (
        await session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.prefix == prefix, ApiToken.token_hash == sha256_hex(token))
        )
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked_at is not None or api_token.expires_at <= now or not user.is_active:
        return None
    if api_token.last_used_at is None or now - api_token.last_used_at > timedelta(seconds=60):
        await session.execute(
            update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_at=now)
        )
    scopes = frozenset(
        Permission(s) for s in api_token.scopes if s in Permission._value2member_map_
    )
    return await load_principal(session, user, scopes=scopes, auth_method="token")
