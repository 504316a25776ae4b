"""Shared callers and helpers for the agencies API tests."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.audit.models import AuditEvent
from citywitness.kit.db import Database
from tests.factories import PUBLIC_SECURITY, URBAN_MANAGEMENT, Actor, make_actor


@pytest.fixture
async def admin(db: Database) -> Actor:
    return await make_actor(db, roles={URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]})


@pytest.fixture
async def ps_admin(db: Database) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})


@pytest.fixture
async def ps_officer(db: Database) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})


async def events(db: Database, actor: Actor, prefix: str = "") -> list[dict[str, Any]]:
    """The audit events of `actor` whose action starts with `prefix`, oldest first."""
    async with db.transaction() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.actor_user_id == actor.user.id, AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.id)
        )
        return [
            {
                "action": e.action,
                "outcome": e.outcome,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "department_id": e.department_id,
                "details": e.details,
            }
            for e in rows
        ]
