"""visible_filter, grant_clause and has_grant against real SQL: exactly which rows come back.

Rows live in a throwaway table created inside the test's transaction (rolled back after):
one per department and classification level, plus one in no department.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Integer, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from citywitness.access.levels import Classification, Role
from citywitness.access.models import Grant
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import grant_clause, has_grant, visible_filter
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.factories import (
    EMERGENCY_MANAGEMENT,
    PUBLIC_SECURITY,
    TRAFFIC_POLICE,
    URBAN_MANAGEMENT,
    make_user,
)

P = Permission
DEPARTMENTS = [PUBLIC_SECURITY, TRAFFIC_POLICE, URBAN_MANAGEMENT, EMERGENCY_MANAGEMENT]
THING = "thing"


class Scratch(DeclarativeBase):
    pass


class Thing(Scratch):
    __tablename__ = "access_test_things"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    department_id: Mapped[uuid.UUID | None]
    classification: Mapped[int] = mapped_column(Integer)


def thing_id(department: uuid.UUID | None, level: Classification) -> uuid.UUID:
    index = DEPARTMENTS.index(department) + 1 if department else 9
    return uuid.UUID(int=index * 16 + int(level))


ALL = {thing_id(d, c) for d in [*DEPARTMENTS, None] for c in Classification}


def in_departments(*departments: uuid.UUID | None, upto: Classification = Classification.SECRET):
    return {thing_id(d, c) for d in departments for c in Classification if c <= upto}


@pytest.fixture
async def session(connection: AsyncConnection, db: Database) -> AsyncSession:
    await connection.run_sync(Scratch.metadata.create_all)
    async with db.sessionmaker() as session:
        session.add_all(
            Thing(id=thing_id(d, c), department_id=d, classification=int(c))
            for d in [*DEPARTMENTS, None]
            for c in Classification
        )
        await session.flush()
        yield session


def who(
    roles: dict[uuid.UUID, list[Role]] | None = None,
    *,
    clearance: Classification = Classification.SECRET,
    scopes: list[Permission] | None = None,
    user_id: uuid.UUID | None = None,
) -> Principal:
    return Principal(
        user_id=user_id or uuid.uuid4(),
        username="someone",
        clearance=clearance,
        roles={d: frozenset(r) for d, r in (roles or {}).items()},
        scopes=frozenset(scopes) if scopes is not None else None,
    )


async def visible(
    session: AsyncSession,
    principal: Principal,
    permission: Permission = P.OFFICERS_READ,
    *,
    classified: bool = True,
    grants: bool = True,
    department: bool = True,
) -> set[uuid.UUID]:
    clause = visible_filter(
        principal,
        permission,
        department_column=Thing.department_id if department else None,
        classification_column=Thing.classification if classified else None,
        object_type=THING if grants else None,
        id_column=Thing.id if grants else None,
    )
    return set((await session.scalars(select(Thing.id).where(clause))).all())


async def grant(
    session: AsyncSession,
    target: uuid.UUID,
    *,
    user: uuid.UUID | None = None,
    department: uuid.UUID | None = None,
    permission: Permission = P.OFFICERS_READ,
    object_type: str = THING,
    expires_in: timedelta | None = None,
    revoked: bool = False,
) -> None:
    granter = await make_user(session)
    session.add(
        Grant(
            object_type=object_type,
            object_id=target,
            permission=permission.value,
            grantee_user_id=user,
            grantee_department_id=department,
            granted_by=granter.id,
            reason="test",
            expires_at=utcnow() + expires_in if expires_in is not None else None,
            revoked_at=utcnow() if revoked else None,
        )
    )
    await session.flush()


async def test_platform_admin_sees_every_row(session: AsyncSession) -> None:
    admin = who({URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]})
    assert await visible(session, admin) == ALL
    assert await visible(session, admin, department=False, grants=False) == ALL


async def test_platform_admin_with_low_clearance_is_limited_by_classification(
    session: AsyncSession,
) -> None:
    admin = who({URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]}, clearance=Classification.INTERNAL)
    expected = in_departments(*DEPARTMENTS, None, upto=Classification.INTERNAL)
    assert await visible(session, admin) == expected


async def test_scoped_roles_see_their_departments_only(session: AsyncSession) -> None:
    mixed = who({PUBLIC_SECURITY: [Role.OFFICER], TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]})
    assert await visible(session, mixed) == in_departments(PUBLIC_SECURITY, TRAFFIC_POLICE)
    assert await visible(session, mixed, P.OFFICERS_MANAGE) == in_departments(TRAFFIC_POLICE)
    assert await visible(session, mixed, P.AUDIT_READ) == set()


@pytest.mark.parametrize("clearance", list(Classification), ids=lambda c: c.label)
async def test_clearance_bounds_classification(
    session: AsyncSession, clearance: Classification
) -> None:
    officer = who({PUBLIC_SECURITY: [Role.OFFICER]}, clearance=clearance)
    assert await visible(session, officer) == in_departments(PUBLIC_SECURITY, upto=clearance)
    assert await visible(session, officer, classified=False) == in_departments(PUBLIC_SECURITY)


async def test_without_a_department_column_only_platform_wide_callers_see_rows(
    session: AsyncSession,
) -> None:
    officer = who({PUBLIC_SECURITY: [Role.OFFICER]})
    assert await visible(session, officer, department=False, grants=False) == set()
    assert await visible(session, who(), grants=False) == set()


async def test_token_scopes_narrow_the_filter(session: AsyncSession) -> None:
    token = who({TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]}, scopes=[P.OFFICERS_READ])
    assert await visible(session, token) == in_departments(TRAFFIC_POLICE)
    assert await visible(session, token, P.OFFICERS_MANAGE) == set()
    admin_token = who({URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]}, scopes=[P.OFFICERS_READ])
    assert await visible(session, admin_token, P.OFFICERS_MANAGE) == set()


async def test_grant_to_user_adds_exactly_that_row(session: AsyncSession) -> None:
    user = await make_user(session)
    officer = who({PUBLIC_SECURITY: [Role.OFFICER]}, user_id=user.id)
    target = thing_id(URBAN_MANAGEMENT, Classification.INTERNAL)
    await grant(session, target, user=user.id)
    assert await visible(session, officer) == in_departments(PUBLIC_SECURITY) | {target}
    assert await visible(session, officer, grants=False) == in_departments(PUBLIC_SECURITY)
    assert await visible(session, who(user_id=user.id)) == {target}
    assert await visible(session, who()) == set()


async def test_grant_to_department_reaches_its_members(session: AsyncSession) -> None:
    target = thing_id(EMERGENCY_MANAGEMENT, Classification.PUBLIC)
    await grant(session, target, department=TRAFFIC_POLICE)
    member = who({TRAFFIC_POLICE: [Role.OFFICER]})
    assert await visible(session, member) == in_departments(TRAFFIC_POLICE) | {target}
    other = who({URBAN_MANAGEMENT: [Role.OFFICER]})
    assert await visible(session, other) == in_departments(URBAN_MANAGEMENT)
    # The grant is for officers:read only.
    assert await visible(session, member, P.AUDIT_READ) == set()


async def test_granted_row_still_needs_clearance(session: AsyncSession) -> None:
    user = await make_user(session)
    target = thing_id(URBAN_MANAGEMENT, Classification.SECRET)
    await grant(session, target, user=user.id)
    low = who(user_id=user.id, clearance=Classification.SENSITIVE)
    assert await visible(session, low) == set()
    assert await visible(session, who(user_id=user.id)) == {target}


async def test_expired_revoked_and_mismatched_grants_count_for_nothing(
    session: AsyncSession,
) -> None:
    user = await make_user(session)
    rows = [thing_id(None, c) for c in Classification]
    await grant(session, rows[0], user=user.id, expires_in=timedelta(seconds=-1))
    await grant(session, rows[1], user=user.id, revoked=True)
    await grant(session, rows[2], user=user.id, permission=P.OFFICERS_MANAGE)
    await grant(session, rows[3], user=user.id, object_type="other")
    caller = who(user_id=user.id)
    assert await visible(session, caller) == set()
    await grant(session, rows[0], user=user.id, expires_in=timedelta(hours=1))
    assert await visible(session, caller) == {rows[0]}
    assert await visible(session, caller, P.OFFICERS_MANAGE) == {rows[2]}


async def test_grant_ignored_when_token_scopes_leave_the_permission_out(
    session: AsyncSession,
) -> None:
    user = await make_user(session)
    target = thing_id(None, Classification.PUBLIC)
    await grant(session, target, user=user.id)
    assert await visible(session, who(user_id=user.id, scopes=[P.OFFICERS_READ])) == {target}
    assert await visible(session, who(user_id=user.id, scopes=[P.AUDIT_READ])) == set()


async def test_has_grant_and_grant_clause(session: AsyncSession) -> None:
    user = await make_user(session)
    target = thing_id(None, Classification.PUBLIC)
    caller = who({TRAFFIC_POLICE: [Role.OFFICER]}, user_id=user.id)
    assert not await has_grant(session, caller, P.OFFICERS_READ, THING, target)
    await grant(session, target, department=TRAFFIC_POLICE)
    assert await has_grant(session, caller, P.OFFICERS_READ, THING, target)
    assert not await has_grant(session, caller, P.OFFICERS_MANAGE, THING, target)
    assert not await has_grant(session, caller, P.OFFICERS_READ, "other", target)
    assert not await has_grant(session, who(user_id=user.id), P.OFFICERS_READ, THING, target)
    scoped = who({TRAFFIC_POLICE: [Role.OFFICER]}, scopes=[P.EVIDENCE_READ])
    assert not await has_grant(session, scoped, P.OFFICERS_READ, THING, target)
    clause = grant_clause(caller, P.OFFICERS_READ, THING, target)
    assert (await session.execute(select(clause))).scalar_one() is True
