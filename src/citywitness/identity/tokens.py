"""API tokens: created with a random secret shown once; only its SHA-256 is kept."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_visible_in_any
from citywitness.identity.errors import InvalidScopes, TokenLifetimeTooLong
from citywitness.identity.models import ApiToken, Membership
from citywitness.identity.principals import TOKEN_PREFIX
from citywitness.kit.clock import utcnow
from citywitness.kit.hashing import sha256_hex


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


async def issue_token(
    session: AsyncSession,
    owner: Principal,
    *,
    name: str,
    scopes: list[str],
    expires_in_days: int,
    now: datetime | None = None,
) -> IssuedToken:
    """A new token for `owner`, limited to `scopes`, each of which the owner must hold."""
    unknown = [s for s in scopes if s not in Permission._value2member_map_]
    if unknown:
        raise InvalidScopes(fields={"scopes": f"unknown permission {unknown[0]}"})
    held = owner.all_permissions()
    missing = [s for s in scopes if Permission(s) not in held]
    if missing:
        raise InvalidScopes(fields={"scopes": f"you do not hold {missing[0]}"})
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    issued_at = now or utcnow()
    token = ApiToken(
        id=uuid.uuid4(),
        user_id=owner.user_id,
        name=name,
        prefix=prefix,
        token_hash=sha256_hex(raw),
        scopes=sorted(set(scopes)),
        expires_at=issued_at + timedelta(days=expires_in_days),
    )
    session.add(token)
    await session.flush()
    return IssuedToken(token=token, secret=raw)


async def create_token(
    session: AsyncSession,
    owner: Principal,
    *,
    name: str,
    scopes: list[str],
    expires_in_days: int,
    max_days: int,
    now: datetime | None = None,
) -> IssuedToken:
    """`issue_token`, refusing lifetimes over `max_days` (auth.token_max_days)."""
    if expires_in_days > max_days:
        raise TokenLifetimeTooLong(
            f"tokens live at most {max_days} days",
            fields={"expires_in_days": f"at most {max_days}"},
        )
    return await issue_token(
        session, owner, name=name, scopes=scopes, expires_in_days=expires_in_days, now=now
    )


async def list_tokens(session: AsyncSession, *, user_id: uuid.UUID) -> list[ApiToken]:
    """The user's tokens, newest first, revoked and expired ones included."""
    rows = await session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
    )
    return list(rows)


async def revoke_token(
    session: AsyncSession,
    principal: Principal,
    *,
    token_id: uuid.UUID,
    now: datetime | None = None,
) -> ApiToken:
    """Revoke a token: your own, or one of a user in a department where you manage users.

    Anyone else's token does not exist for you (404).  Revoking twice changes nothing.
    """
    token = await session.get(ApiToken, token_id, with_for_update=True)
    if token is None:
        err = ObjectNotVisible("no such api_token")
        err.refusing("auth.tokens.revoke", "api_token", str(token_id))
        raise err
    if token.user_id != principal.user_id:
        owner_departments = await session.scalars(
            select(Membership.department_id).where(Membership.user_id == token.user_id)
        )
        ensure_visible_in_any(
            principal,
            Permission.USERS_MANAGE,
            department_ids=set(owner_departments),
            object_type="api_token",
            object_id=token_id,
        )
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        await session.flush()
    return token
