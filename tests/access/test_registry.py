from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access import registry
from citywitness.access.permissions import Permission
from citywitness.access.registry import Owner, register_object_type
from citywitness.agencies import officers


async def _nothing(_session: AsyncSession, _object_id: uuid.UUID) -> Owner | None:
    return None


async def _other(_session: AsyncSession, _object_id: uuid.UUID) -> Owner | None:
    return None


def test_officer_is_registered_by_agencies() -> None:
    entry = registry.object_type("officer")
    assert entry is not None
    assert entry.resolver is officers.officer_owner
    assert entry.read_permission is Permission.OFFICERS_READ
    assert entry.grantable == {Permission.OFFICERS_READ}
    assert "officer" in registry.object_type_names()


def test_registration_is_idempotent_and_refuses_a_different_resolver() -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    first = register_object_type(name, _nothing, read_permission=Permission.EVIDENCE_READ)
    assert first.grantable == {Permission.EVIDENCE_READ}
    assert register_object_type(name, _nothing, read_permission=Permission.EVIDENCE_READ) == first
    with pytest.raises(ValueError, match="already registered"):
        register_object_type(name, _other, read_permission=Permission.EVIDENCE_READ)
    assert registry.object_type(name) == first
    assert registry.object_type("no-such-type") is None
