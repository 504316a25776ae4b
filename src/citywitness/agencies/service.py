"""Departments and units: reading, creating, changing; idempotent seeding for the demo.

Departments are not secret inside the platform: anyone holding departments:read in any
department sees every department (the list drives pickers for cross-department work such
as sharing and case assignment).  Creating a department needs departments:manage held
platform-wide; changing one needs departments:manage in it.  A department's units are its
internal structure: reading them needs officers:read in that department, changing them
officers:manage there.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted, require, require_global
from citywitness.access.trail import AuditTrail
from citywitness.agencies import repository
from citywitness.agencies.errors import (
    DepartmentCodeTaken,
    DepartmentNotFound,
    UnitCodeTaken,
    UnitCycle,
    UnitNotFound,
    UnitNotInDepartment,
)
from citywitness.agencies.models import Department, Officer, Unit
from citywitness.agencies.schemas import DepartmentCreate, DepartmentUpdate, UnitCreate, UnitUpdate

DEPARTMENT = "department"
UNIT = "unit"


async def _department(session: AsyncSession, department_id: uuid.UUID) -> Department:
    found = await repository.department(session, department_id)
    if found is None:
        raise DepartmentNotFound
    return found


def _permitted_in(principal: Principal, permission: Permission, department_id: uuid.UUID) -> None:
    ensure_permitted(
        principal,
        permission,
        department_id=department_id,
        object_type=DEPARTMENT,
        object_id=department_id,
    )


async def list_departments(
    session: AsyncSession, principal: Principal, trail: AuditTrail
) -> list[Department]:
    require(principal, Permission.DEPARTMENTS_READ, action="departments.list")
    found = list(await session.scalars(select(Department).order_by(Department.code)))
    await trail.record("departments.list", details={"count": len(found)})
    return found


async def get_department(
    session: AsyncSession, principal: Principal, trail: AuditTrail, department_id: uuid.UUID
) -> Department:
    require(principal, Permission.DEPARTMENTS_READ, action="departments.read")
    found = await _department(session, department_id)
    await trail.record(
        "departments.read", object_type=DEPARTMENT, object_id=found.id, department_id=found.id
    )
    return found


async def create_department(
    session: AsyncSession, principal: Principal, trail: AuditTrail, data: DepartmentCreate
) -> Department:
    require_global(principal, Permission.DEPARTMENTS_MANAGE, action="departments.create")
    department = Department(id=uuid.uuid4(), **data.model_dump())
    async with repository.mapped_violations(session, {"uq_departments_code": DepartmentCodeTaken}):
        session.add(department)
    await session.refresh(department)
    await trail.record(
        "departments.create",
        object_type=DEPARTMENT,
        object_id=department.id,
        department_id=department.id,
        details={"code": department.code},
    )
    return department


async def update_department(
    session: AsyncSession,
    principal: Principal,
    trail: AuditTrail,
    department_id: uuid.UUID,
    data: DepartmentUpdate,
) -> Department:
    department = await _department(session, department_id)
    _permitted_in(principal, Permission.DEPARTMENTS_MANAGE, department.id)
    changes = {k: v for k, v in data.changes().items() if getattr(department, k) != v}
    if changes:
        for key, value in changes.items():
            setattr(department, key, value)
        await session.flush()
        await trail.record(
            "departments.update",
            object_type=DEPARTMENT,
            object_id=department.id,
            department_id=department.id,
            details={"changed": sorted(changes)},
        )
    return department


async def list_units(
    session: AsyncSession, principal: Principal, trail: AuditTrail, department_id: uuid.UUID
) -> list[Unit]:
    department = await _department(session, department_id)
    _permitted_in(principal, Permission.OFFICERS_READ, department.id)
    found = list(
        await session.scalars(
            select(Unit).where(Unit.department_id == department.id).order_by(Unit.code)
        )
    )
    await trail.record("units.list", department_id=department.id, details={"count": len(found)})
    return found


async def _parent(session: AsyncSession, department_id: uuid.UUID, parent_id: uuid.UUID) -> Unit:
    parent = await repository.unit_in(session, department_id, parent_id)
    if parent is None:
        raise UnitNotInDepartment(fields={"parent_id": "no such unit in this department"})
    return parent


async def create_unit(
    session: AsyncSession,
    principal: Principal,
    trail: AuditTrail,
    department_id: uuid.UUID,
    data: UnitCreate,
) -> Unit:
    department = await _department(session, department_id)
    _permitted_in(principal, Permission.OFFICERS_MANAGE, department.id)
    if data.parent_id is not None:
        await _parent(session, department.id, data.parent_id)
    unit = Unit(id=uuid.uuid4(), department_id=department.id, **data.model_dump())
    async with repository.mapped_violations(
        session, {"uq_units_department_id_code": UnitCodeTaken}
    ):
        session.add(unit)
    await session.refresh(unit)
    await trail.record(
        "units.create",
        object_type=UNIT,
        object_id=unit.id,
        department_id=department.id,
        details={"code": unit.code, "parent_id": str(unit.parent_id) if unit.parent_id else None},
    )
    return unit


async def update_unit(
    session: AsyncSession,
    principal: Principal,
    trail: AuditTrail,
    department_id: uuid.UUID,
    *,
    unit_id: uuid.UUID,
    data: UnitUpdate,
) -> Unit:
    """Rename or move a unit; moving it under itself or one of its sub-units is refused."""
    department = await _department(session, department_id)
    _permitted_in(principal, Permission.OFFICERS_MANAGE, department.id)
    unit = await repository.unit_in(session, department.id, unit_id)
    if unit is None:
        raise UnitNotFound
    changes = {k: v for k, v in data.changes().items() if getattr(unit, k) != v}
    parent_id = changes.get("parent_id")
    if isinstance(parent_id, uuid.UUID):
        parent = await _parent(session, department.id, parent_id)
        if unit.id in await repository.unit_lineage(session, parent.id):
            raise UnitCycle(fields={"parent_id": "would nest the unit under itself"})
    if changes:
        for key, value in changes.items():
            setattr(unit, key, value)
        await session.flush()
        await trail.record(
            "units.update",
            object_type=UNIT,
            object_id=unit.id,
            department_id=department.id,
            details={"changed": sorted(changes)},
        )
    return unit


async def ensure_unit(
    session: AsyncSession,
    *,
    department_id: uuid.UUID,
    code: str,
    name: str,
    parent_id: uuid.UUID | None = None,
) -> Unit:
    """The unit with this code in the department, created if missing (seeding; not audited)."""
    found = await session.scalar(
        select(Unit).where(Unit.department_id == department_id, Unit.code == code)
    )
    if found is not None:
        return found
    unit = Unit(id=uuid.uuid4(), department_id=department_id, code=code, name=name)
    unit.parent_id = parent_id
    session.add(unit)
    await session.flush()
    await session.refresh(unit)
    return unit


async def ensure_officer(
    session: AsyncSession,
    *,
    badge_number: str,
    display_name: str,
    department_id: uuid.UUID,
    unit_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> Officer:
    """The officer with this badge number, created if missing (seeding; not audited)."""
    found = await session.scalar(select(Officer).where(Officer.badge_number == badge_number))
    if found is not None:
        return found
    officer = Officer(
        id=uuid.uuid4(),
        badge_number=badge_number,
        display_name=display_name,
        department_id=department_id,
        unit_id=unit_id,
        user_id=user_id,
        active=True,
    )
    session.add(officer)
    await session.flush()
    await session.refresh(officer)
    return officer


DEMO_DEPARTMENT = uuid.UUID("00000000-0000-4000-8000-000000000001")  # public-security (seeded)
DEMO_OFFICERS = (
    ("PS-1001", "Demo Officer One"),
    ("PS-1002", "Demo Officer Two"),
    ("PS-1003", "Demo Officer Three"),
)


async def seed_demo(session: AsyncSession) -> list[Officer]:
    """A demo patrol unit and three officers in public security; safe to run on every start."""
    unit = await ensure_unit(
        session, department_id=DEMO_DEPARTMENT, code="demo-patrol", name="Demo Patrol Unit"
    )
    return [
        await ensure_officer(
            session,
            badge_number=badge,
            display_name=name,
            department_id=DEMO_DEPARTMENT,
            unit_id=unit.id,
        )
        for badge, name in DEMO_OFFICERS
    ]
