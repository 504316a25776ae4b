"""Callers for the devices tests."""

from __future__ import annotations

import pytest

from citywitness.access.levels import Role
from citywitness.kit.db import Database
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor


@pytest.fixture
async def ps_admin(db: Database) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})


@pytest.fixture
async def ps_operator(db: Database) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})


@pytest.fixture
async def traffic_admin(db: Database) -> Actor:
    return await make_actor(
        db, roles={TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN, Role.OPERATOR, Role.INVESTIGATOR]}
    )
