"""Officers: listing within scope, reading, creating and changing; the `officer` grant type.

Reading needs officers:read in the officer's department, or a live grant of officers:read
on that officer; anything else is 404.  Changing needs officers:manage there (or granted);
moving an officer to another department also needs officers:manage in the new one.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.registry import Owner, register_object_type
from citywitness.access.service import (
    ensure_permitted,
    ensure_visible,
    has_grant,
    require,
    visible_filter,
)
from citywitness.access.trail import AuditTrail
from citywitness.agencies import repository
from citywitness.agencies.errors import (
    BadgeTaken,
    UnitNotInDepartment,
    UnknownDepartment,
    UnknownUser,
    UserAlreadyLinked,
)
from citywitness.agencies.models import Officer
from citywitness.agencies.schemas import OfficerCreate, OfficerUpdate

OFFICER = "officer"

VIOLATIONS = {
    "uq_officers_badge_number": lambda: BadgeTaken(fields={"badge_number": "already in use"}),
    "uq_officers_user_id": lambda: UserAlreadyLinked(fields={"user_id": "linked elsewhere"}),
    "fk_officers_user_id_users": lambda: UnknownUser(fields={"user_id": "no such user"}),
}


async def officer_owner(session: AsyncSession, officer_id: uuid.UUID) -> Owner | None:
    """Grant resolver: the department that owns an officer record."""
    officer = await session.get(Officer, officer_id)
    return Owner(department_id=officer.department_id) if officer is not None else None


# Officers can be shared one by one (e.g. with an investigating department).
register_object_type(
    OFFICER,
    officer_owner,
    read_permission=Permission.OFFICERS_READ,
    grantable={Permission.OFFICERS_READ},
)


async def list_officers(
    session: AsyncSession,
    principal: Principal,
    trail: AuditTrail,
    *,
    department_id: uuid.UUID | None = None,
    unit_id: uuid.UUID | None = None,
    active: bool | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Officer], str | None]:
    """One page of the officers the caller may read, by badge number; one audit event."""
    require(principal, Permission.OFFICERS_READ, action="officers.list")
    where: list[ColumnElement[bool]] = [
        visible_filter(
            principal,
            Permission.OFFICERS_READ,
            department_column=Officer.department_id,
            object_type=OFFICER,
            id_column=Officer.id,
        )
    ]
    if department_id is not None:
        where.append(Officer.department_id == department_id)
    if unit_id is not None:
        where.append(Officer.unit_id == unit_id)
    if active is not None:
        where.append(Officer.active.is_(active))
    if q:
        where.append(repository.officer_search(q))
    found, next_cursor = await repository.officer_page(session, where, cursor=cursor, limit=limit)
    filters = {"department_id": department_id, "unit_id": unit_id, "active": active, "q": q}
    await trail.record(
        "officers.list",
        object_type=OFFICER,
        details={
            "filters": {k: str(v) for k, v in filters.items() if v is not None},
            "count": len(found),
            "page": cursor is not None,
        },
    )
    return found, next_cursor


async def _visible_officer(
    session: AsyncSession, principal: Principal, officer_id: uuid.UUID
) -> Officer:
    """The officer, or 404 (audited as officers:read whether it is missing or out of scope)."""
    officer = await session.get(Officer, officer_id)
    if officer is None:
        err = ObjectNotVisible("no such officer")
        err.refusing(Permission.OFFICERS_READ.value, OFFICER, str(officer_id))
        raise err
    granted = not principal.has_in(Permission.OFFICERS_READ, officer.department_id) and (
        await has_grant(session, principal, Permission.OFFICERS_READ, OFFICER, officer.id)
    )
    ensure_visible(
        principal,
        Permission.OFFICERS_READ,
        department_id=officer.department_id,
        object_type=OFFICER,
        object_id=officer.id,
        granted=granted,
    )
    return officer


async def get_officer(
    session: AsyncSession, principal: Principal, trail: AuditTrail, officer_id: uuid.UUID
) -> Officer:
    officer = await _visible_officer(session, principal, officer_id)
    await trail.record(
        "officers.read",
        object_type=OFFICER,
        object_id=officer.id,
        department_id=officer.department_id,
    )
    return officer


async def _check_unit(
    session: AsyncSession, department_id: uuid.UUID, unit_id: uuid.UUID | None
) -> None:
    if unit_id is not None and await repository.unit_in(session, department_id, unit_id) is None:
        raise UnitNotInDepartment(fields={"unit_id": "no such unit in the officer's department"})


def _permitted(principal: Principal, department_id: uuid.UUID, officer_id: uuid.UUID) -> None:
    ensure_permitted(
        principal,
        Permission.OFFICERS_MANAGE,
        department_id=department_id,
        object_type=OFFICER,
        object_id=officer_id,
    )


async def create_officer(
    session: AsyncSession, principal: Principal, trail: AuditTrail, data: OfficerCreate
) -> Officer:
    officer_id = uuid.uuid4()
    _permitted(principal, data.department_id, officer_id)
    if await repository.department(session, data.department_id) is None:
        raise UnknownDepartment(fields={"department_id": "no such department"})
    await _check_unit(session, data.department_id, data.unit_id)
    officer = Officer(id=officer_id, **data.model_dump())
    async with repository.mapped_violations(session, VIOLATIONS):
        session.add(officer)
    await session.refresh(officer)
    await trail.record(
        "officers.create",
        object_type=OFFICER,
        object_id=officer.id,
        department_id=officer.department_id,
        details={"badge_number": officer.badge_number, "linked_user": officer.user_id is not None},
    )
    return officer


async def update_officer(
    session: AsyncSession,
    principal: Principal,
    trail: AuditTrail,
    officer_id: uuid.UUID,
    data: OfficerUpdate,
) -> Officer:
    officer = await _visible_officer(session, principal, officer_id)
    _permitted(principal, officer.department_id, officer.id)
    changes = {k: v for k, v in data.changes().items() if getattr(officer, k) != v}
    old_department = officer.department_id
    moving = "department_id" in changes and data.department_id is not None
    new_department = data.department_id if moving and data.department_id else old_department
    if moving:
        _permitted(principal, new_department, officer.id)
        if await repository.department(session, new_department) is None:
            raise UnknownDepartment(fields={"department_id": "no such department"})
    if "unit_id" in changes or moving:
        unit_id = data.unit_id if "unit_id" in changes else officer.unit_id
        await _check_unit(session, new_department, unit_id)
    if not changes:
        return officer
    async with repository.mapped_violations(session, VIOLATIONS):
        for key, value in changes.items():
            setattr(officer, key, value)
    details: dict[str, object] = {"changed": sorted(changes)}
    if moving:
        details["from_department_id"] = str(old_department)
        details["to_department_id"] = str(new_department)
    await trail.record(
        "officers.update",
        object_type=OFFICER,
        object_id=officer.id,
        department_id=new_department,
        details=details,
    )
    return officer
