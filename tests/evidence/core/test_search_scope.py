"""access.service.visible_parts (what search runs as branches) against visible_filter: the
parts are disjoint and together select exactly what the filter selects, for every kind of
caller, with grants live, revoked, expired, of another permission, to a user or a
department."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from citywitness.access.levels import Classification, Role
from citywitness.access.models import Grant
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import visible_filter, visible_parts
from citywitness.evidence.models import EvidenceItem, EvidenceKind, IngestChannel
from citywitness.kit.db import Database
from tests.factories import (
    EMERGENCY_MANAGEMENT,
    PUBLIC_SECURITY,
    TRAFFIC_POLICE,
    URBAN_MANAGEMENT,
    make_actor,
)

DEPARTMENTS = [PUBLIC_SECURITY, TRAFFIC_POLICE, URBAN_MANAGEMENT, EMERGENCY_MANAGEMENT]
NOW = datetime.now(UTC)


def _item(n: int) -> EvidenceItem:
    return EvidenceItem(
        id=uuid.UUID(f"00000000-0000-4000-9000-{n:012d}"),
        kind=EvidenceKind.VIDEO,
        sha256=hashlib.sha256(str(n).encode()).hexdigest(),
        size_bytes=1,
        original_filename="x.mp4",
        media_type="video/mp4",
        department_id=DEPARTMENTS[n % 4],
        classification=(n // 4) % 4,
        tags=[],
        notes="",
        media_facts={},
        ingest_channel=IngestChannel.DOCK,
    )


def _principals(user_id: uuid.UUID) -> dict[str, Principal]:
    def make(
        roles: dict[uuid.UUID, frozenset[Role]],
        clearance: Classification = Classification.SECRET,
        scopes: frozenset[Permission] | None = None,
    ) -> Principal:
        return Principal(user_id, "u", clearance, roles, scopes)

    officer = frozenset({Role.OFFICER})
    return {
        "platform admin": make({PUBLIC_SECURITY: frozenset({Role.PLATFORM_ADMIN})}),
        "one department": make({PUBLIC_SECURITY: officer}),
        "one department, internal": make({PUBLIC_SECURITY: officer}, Classification.INTERNAL),
        "two departments": make({PUBLIC_SECURITY: officer, TRAFFIC_POLICE: officer}),
        "no roles": make({}),
        "token without evidence:read": make(
            {PUBLIC_SECURITY: officer}, scopes=frozenset({Permission.USERS_READ})
        ),
    }


@pytest.fixture
async def user_id(db: Database) -> uuid.UUID:
    """32 items: item n in department n % 4 with classification (n // 4) % 4; grants on
    some to a user and to departments."""
    actor = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    uid = actor.user.id

    def grant(n: int, **changes: object) -> Grant:
        made = Grant(
            object_type="evidence",
            object_id=_item(n).id,
            permission="evidence:read",
            grantee_user_id=uid,
            granted_by=uid,
            reason="case",
        )
        for key, value in changes.items():
            setattr(made, key, value)
        return made

    async with db.transaction() as session:
        session.add_all([_item(n) for n in range(32)])
        await session.flush()
        session.add_all(
            [
                grant(1),  # traffic, classification 1
                grant(4),  # own department: both a department and a grant
                grant(6),  # urban management, classification 2
                grant(7, revoked_at=NOW),
                grant(9, expires_at=NOW - timedelta(hours=1)),
                grant(13, expires_at=NOW + timedelta(hours=1)),
                grant(14, permission="evidence:export"),
                grant(
                    15, grantee_user_id=None, grantee_department_id=PUBLIC_SECURITY
                ),  # classification 3, to the department
                grant(22, grantee_user_id=None, grantee_department_id=TRAFFIC_POLICE),
            ]
        )
    return uid


@pytest.mark.parametrize(
    "name",
    [
        "platform admin",
        "one department",
        "one department, internal",
        "two departments",
        "no roles",
        "token without evidence:read",
    ],
)
async def test_parts_are_disjoint_and_add_up_to_the_filter(
    db: Database, user_id: uuid.UUID, name: str
) -> None:
    principal = _principals(user_id)[name]
    item = EvidenceItem
    columns: dict[str, Any] = {
        "department_column": item.department_id,
        "classification_column": item.classification,
        "object_type": "evidence",
        "id_column": item.id,
    }
    ours = item.id.in_([_item(n).id for n in range(32)])
    async with db.transaction() as session:
        whole = set(
            await session.scalars(
                select(item.id).where(
                    ours, visible_filter(principal, Permission.EVIDENCE_READ, **columns)
                )
            )
        )
        parts = [
            set(await session.scalars(select(item.id).where(ours, part)))
            for part in visible_parts(principal, Permission.EVIDENCE_READ, **columns)
        ]
    assert set().union(*parts) == whole
    for one, other in itertools.combinations(parts, 2):
        assert not one & other
    expected = {
        "platform admin": 32,
        # The 8 items of PS, and granted items of others: 1, 6, 13 to the user, 15 to PS
        # (4 is in PS; 7 revoked, 9 expired, 14 another permission, 22 to TP).
        "one department": 8 + 4,
        "one department, internal": 4 + 2,  # classification <= 1: 4 of PS; 1 and 6
        "two departments": 16 + 3,  # PS and TP; granted 6, 15 (to PS), 22 (to TP)
        "no roles": 4,  # granted to the user: 1, 4, 6, 13
        "token without evidence:read": 0,
    }
    assert len(whole) == expected[name]
