"""HTTP adapter for departments, units and officers (rules live in service.py / officers.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from citywitness.agencies import officers, service
from citywitness.agencies.schemas import (
    DepartmentCreate,
    DepartmentList,
    DepartmentOut,
    DepartmentUpdate,
    OfficerCreate,
    OfficerOut,
    OfficerPage,
    OfficerUpdate,
    UnitCreate,
    UnitList,
    UnitOut,
    UnitUpdate,
)
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.kit.web import error_responses

departments_router = APIRouter(prefix="/departments", tags=["departments"])
officers_router = APIRouter(prefix="/officers", tags=["officers"])


@departments_router.get(
    "",
    summary="List every department.",
    description=(
        "Needs departments:read in any department.  Departments are not secret inside the "
        "platform: the list is the same for every caller who may read it."
    ),
    response_model=DepartmentList,
    responses=error_responses(401, 403),
)
async def get_departments(
    session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> DepartmentList:
    found = await service.list_departments(session, principal, auditor)
    return DepartmentList(items=[DepartmentOut.model_validate(d) for d in found])


@departments_router.get(
    "/{department_id}",
    summary="Read one department.",
    description="Needs departments:read in any department.",
    response_model=DepartmentOut,
    responses=error_responses(401, 403, 404),
)
async def get_department(
    department_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> DepartmentOut:
    found = await service.get_department(session, principal, auditor, department_id)
    return DepartmentOut.model_validate(found)


@departments_router.post(
    "",
    status_code=201,
    summary="Create a department.",
    description="Needs departments:manage held platform-wide (a platform admin).",
    response_model=DepartmentOut,
    responses=error_responses(401, 403, 409, 422),
)
async def post_department(
    body: DepartmentCreate, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> DepartmentOut:
    created = await service.create_department(session, principal, auditor, body)
    return DepartmentOut.model_validate(created)


@departments_router.patch(
    "/{department_id}",
    summary="Change a department's names, kind or playback policy.",
    description="Needs departments:manage in that department.  The code never changes.",
    response_model=DepartmentOut,
    responses=error_responses(401, 403, 404, 422),
)
async def patch_department(
    department_id: uuid.UUID,
    body: DepartmentUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> DepartmentOut:
    changed = await service.update_department(session, principal, auditor, department_id, body)
    return DepartmentOut.model_validate(changed)


@departments_router.get(
    "/{department_id}/units",
    summary="List a department's units (a tree through parent_id).",
    description="Needs officers:read in that department.",
    response_model=UnitList,
    responses=error_responses(401, 403, 404),
)
async def get_units(
    department_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> UnitList:
    found = await service.list_units(session, principal, auditor, department_id)
    return UnitList(items=[UnitOut.model_validate(u) for u in found])


@departments_router.post(
    "/{department_id}/units",
    status_code=201,
    summary="Create a unit, optionally nested under another unit of the same department.",
    description="Needs officers:manage in that department.",
    response_model=UnitOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_unit(
    department_id: uuid.UUID,
    body: UnitCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> UnitOut:
    created = await service.create_unit(session, principal, auditor, department_id, body)
    return UnitOut.model_validate(created)


@departments_router.patch(
    "/{department_id}/units/{unit_id}",
    summary="Rename a unit or move it under another unit (never under itself).",
    description="Needs officers:manage in that department.",
    response_model=UnitOut,
    responses=error_responses(401, 403, 404, 422),
)
async def patch_unit(
    *,
    department_id: uuid.UUID,
    unit_id: uuid.UUID,
    body: UnitUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> UnitOut:
    changed = await service.update_unit(
        session, principal, auditor, department_id, unit_id=unit_id, data=body
    )
    return UnitOut.model_validate(changed)


@officers_router.get(
    "",
    summary="List the officers the caller may read, by badge number.",
    description=(
        "Needs officers:read; returns officers of departments where the caller holds it, "
        "plus officers granted to the caller.  Keyset pagination: pass `next_cursor` back "
        "as `cursor`.  `q` matches the start of the badge number or the name."
    ),
    response_model=OfficerPage,
    responses=error_responses(400, 401, 403, 422),
)
async def get_officers(
    *,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    department_id: uuid.UUID | None = None,
    unit_id: uuid.UUID | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=600)] = None,
) -> OfficerPage:
    found, next_cursor = await officers.list_officers(
        session,
        principal,
        auditor,
        department_id=department_id,
        unit_id=unit_id,
        active=active,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    return OfficerPage(items=[OfficerOut.model_validate(o) for o in found], next_cursor=next_cursor)


@officers_router.post(
    "",
    status_code=201,
    summary="Create an officer, optionally linked to a user account.",
    description="Needs officers:manage in the officer's department.",
    response_model=OfficerOut,
    responses=error_responses(401, 403, 409, 422),
)
async def post_officer(
    body: OfficerCreate, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> OfficerOut:
    created = await officers.create_officer(session, principal, auditor, body)
    return OfficerOut.model_validate(created)


@officers_router.get(
    "/{officer_id}",
    summary="Read one officer.",
    description="Needs officers:read in the officer's department, or a grant on the officer.",
    response_model=OfficerOut,
    responses=error_responses(401, 404),
)
async def get_officer(
    officer_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> OfficerOut:
    found = await officers.get_officer(session, principal, auditor, officer_id)
    return OfficerOut.model_validate(found)


@officers_router.patch(
    "/{officer_id}",
    summary="Change an officer: name, badge, unit, user link, active, or department.",
    description=(
        "Needs officers:manage in the officer's department; moving to another department "
        "needs it there too, and the unit must belong to the new department (send "
        "unit_id: null to clear it)."
    ),
    response_model=OfficerOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def patch_officer(
    officer_id: uuid.UUID,
    body: OfficerUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> OfficerOut:
    changed = await officers.update_officer(session, principal, auditor, officer_id, body)
    return OfficerOut.model_validate(changed)
