"""Authorization cases for departments, units and officers (see matrix.py)."""

from __future__ import annotations

from citywitness.access.permissions import Permission
from citywitness.agencies.service import ensure_officer, ensure_unit
from citywitness.kit.db import Database
from tests.authz.matrix import (
    HOME,
    Actor,
    Case,
    Prepared,
    department_case,
    new_id,
    object_case,
)

P = Permission
PLATFORM_ONLY = (
    "departments:manage is carried by no department role: only a platform admin succeeds "
    "(tested in tests/agencies/test_departments.py)"
)


async def home(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(path={"department_id": str(HOME)})


async def new_department(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(json={"code": f"d-{new_id()[:8]}", "name": "New", "kind": "other"})


async def rename_home(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(path={"department_id": str(HOME)}, json={"name": "Renamed"})


async def new_unit(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(
        path={"department_id": str(HOME)}, json={"code": f"u-{new_id()[:8]}", "name": "Unit"}
    )


async def home_unit(db: Database, _caller: Actor | None) -> Prepared:
    async with db.transaction() as session:
        unit = await ensure_unit(session, department_id=HOME, code=f"u-{new_id()[:8]}", name="U")
    return Prepared(
        path={"department_id": str(HOME), "unit_id": str(unit.id)}, json={"name": "Renamed"}
    )


async def new_officer(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(
        json={
            "badge_number": f"B-{new_id()[:8]}",
            "display_name": "New Officer",
            "department_id": str(HOME),
        }
    )


async def home_officer(db: Database, _caller: Actor | None) -> Prepared:
    async with db.transaction() as session:
        officer = await ensure_officer(
            session, badge_number=f"B-{new_id()[:8]}", display_name="O", department_id=HOME
        )
    return Prepared(path={"officer_id": str(officer.id)}, json={"active": False})


CASES: list[Case] = [
    department_case(
        "GET",
        "/api/v1/departments",
        P.DEPARTMENTS_READ,
        other=200,
        note="departments are not secret: every reader sees the list",
    ),
    department_case(
        "GET", "/api/v1/departments/{department_id}", P.DEPARTMENTS_READ, home, other=200
    ),
    department_case(
        "POST",
        "/api/v1/departments",
        P.DEPARTMENTS_MANAGE,
        new_department,
        success=403,
        note=PLATFORM_ONLY,
    ),
    department_case(
        "PATCH",
        "/api/v1/departments/{department_id}",
        P.DEPARTMENTS_MANAGE,
        rename_home,
        success=403,
        note=PLATFORM_ONLY,
    ),
    department_case("GET", "/api/v1/departments/{department_id}/units", P.OFFICERS_READ, home),
    department_case(
        "POST",
        "/api/v1/departments/{department_id}/units",
        P.OFFICERS_MANAGE,
        new_unit,
        success=201,
    ),
    department_case(
        "PATCH",
        "/api/v1/departments/{department_id}/units/{unit_id}",
        P.OFFICERS_MANAGE,
        home_unit,
    ),
    department_case(
        "GET",
        "/api/v1/officers",
        P.OFFICERS_READ,
        other=200,
        note="a list: other departments get their own (here empty) page",
    ),
    department_case("POST", "/api/v1/officers", P.OFFICERS_MANAGE, new_officer, success=201),
    object_case(
        "GET",
        "/api/v1/officers/{officer_id}",
        P.OFFICERS_READ,
        home_officer,
        without=404,
        note="without officers:read the officer is not visible at all",
    ),
    object_case("PATCH", "/api/v1/officers/{officer_id}", P.OFFICERS_MANAGE, home_officer),
]
