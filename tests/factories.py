"""Builders for test data, going through the real services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import Permission
from citywitness.identity.models import Membership, User
from citywitness.identity.passwords import hash_password
from citywitness.identity.principals import load_principal
from citywitness.identity.tokens import issue_token
from citywitness.kit.db import Database

PUBLIC_SECURITY = uuid.UUID("00000000-0000-4000-8000-000000000001")
TRAFFIC_POLICE = uuid.UUID("00000000-0000-4000-8000-000000000002")
URBAN_MANAGEMENT = uuid.UUID("00000000-0000-4000-8000-000000000003")
EMERGENCY_MANAGEMENT = uuid.UUID("00000000-0000-4000-8000-000000000004")

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)


@dataclass(frozen=True)
class Actor:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_user(
    session: AsyncSession,
    *,
    roles: dict[uuid.UUID, list[Role]] | None = None,
    clearance: Classification = Classification.SECRET,
    username: str | None = None,
) -> User:
    user = User(
        id=uuid.uuid4(),
        username=username or f"user-{uuid.uuid4().hex[:8]}",
        display_name="Test User",
        password_hash=_PASSWORD_HASH,
        clearance=int(clearance),
    )
    session.add(user)
    await session.flush()
    for dept, dept_roles in (roles or {}).items():
        for role in dept_roles:
            session.add(Membership(user_id=user.id, department_id=dept, role=role.value))
    await session.flush()
    return user


async def make_actor(
    db: Database,
    *,
    roles: dict[uuid.UUID, list[Role]] | None = None,
    clearance: Classification = Classification.SECRET,
    scopes: list[Permission] | None = None,
) -> Actor:
    """A committed user with the given roles and an API token for all (or `scopes`) of them."""
    async with db.transaction() as session:
        user = await make_user(session, roles=roles, clearance=clearance)
        principal = await load_principal(session, user)
        wanted = scopes if scopes is not None else sorted(principal.all_permissions())
        issued = await issue_token(
            session, principal, name="test", scopes=[p.value for p in wanted], expires_in_days=1
        )
    return Actor(user=user, token=issued.secret)
