"""API tokens: created with a random secret shown once; only its SHA-256 is kept."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.identity.errors import InvalidScopes
from citywitness.identity.models import ApiToken
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
