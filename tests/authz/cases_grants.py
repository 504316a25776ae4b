"""Authorization cases for grants (see matrix.py); the target object is a HOME officer."""

from __future__ import annotations

from citywitness.access.models import Grant
from citywitness.access.permissions import Permission
from citywitness.agencies.models import Officer
from citywitness.agencies.service import ensure_officer
from citywitness.kit.db import Database
from tests.authz.matrix import HOME, OTHER, Actor, Case, Prepared, new_id, object_case
from tests.factories import make_user

P = Permission


async def _officer(db: Database) -> Officer:
    async with db.transaction() as session:
        return await ensure_officer(
            session, badge_number=f"G-{new_id()[:8]}", display_name="O", department_id=HOME
        )


async def grant_request(db: Database, _caller: Actor | None) -> Prepared:
    officer = await _officer(db)
    return Prepared(
        json={
            "object_type": "officer",
            "object_id": str(officer.id),
            "permission": "officers:read",
            "grantee_department_id": str(OTHER),
            "reason": "joint investigation",
        }
    )


async def officer_query(db: Database, _caller: Actor | None) -> Prepared:
    officer = await _officer(db)
    return Prepared(params={"object_type": "officer", "object_id": str(officer.id)})


async def live_grant(db: Database, _caller: Actor | None) -> Prepared:
    officer = await _officer(db)
    async with db.transaction() as session:
        granter = await make_user(session)
        grant = Grant(
            object_type="officer",
            object_id=officer.id,
            permission="officers:read",
            grantee_user_id=granter.id,
            granted_by=granter.id,
            reason="joint investigation",
        )
        session.add(grant)
        await session.flush()
    return Prepared(path={"grant_id": str(grant.id)})


NOTE = "callers who cannot read the officer get 404; readers without grants:manage get 403"

CASES: list[Case] = [
    object_case("POST", "/api/v1/grants", P.GRANTS_MANAGE, grant_request, success=201, note=NOTE),
    object_case("GET", "/api/v1/grants", P.GRANTS_MANAGE, officer_query, note=NOTE),
    object_case(
        "DELETE",
        "/api/v1/grants/{grant_id}",
        P.GRANTS_MANAGE,
        live_grant,
        note=NOTE,
    ),
]
