from __future__ import annotations

import httpx
import pytest

from citywitness.access.levels import Role
from citywitness.access.permissions import Permission
from citywitness.agencies.service import ensure_officer, ensure_unit
from citywitness.kit.db import Database
from tests.agencies.conftest import events
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

OFFICERS = "/api/v1/officers"


@pytest.fixture
async def roster(db: Database) -> dict[str, str]:
    """Seven officers: five in public security (two in unit n, one inactive), two in traffic."""
    async with db.transaction() as session:
        unit = await ensure_unit(session, department_id=PUBLIC_SECURITY, code="n", name="N")
        specs = [
            ("A-1", "Zhang San", PUBLIC_SECURITY, unit.id),
            ("A-2", "Li Si", PUBLIC_SECURITY, unit.id),
            ("A_3", "Wang Wu", PUBLIC_SECURITY, None),
            ("B-1", "Zhao Liu", PUBLIC_SECURITY, None),
            ("B-2", "Amy Chen", PUBLIC_SECURITY, None),
            ("T-1", "Sun Qi", TRAFFIC_POLICE, None),
            ("T-2", "Zhou Ba", TRAFFIC_POLICE, None),
        ]
        ids = {}
        for badge, name, department, unit_id in specs:
            officer = await ensure_officer(
                session,
                badge_number=badge,
                display_name=name,
                department_id=department,
                unit_id=unit_id,
            )
            ids[badge] = str(officer.id)
        ids["unit"] = str(unit.id)
        inactive = await session.get(type(officer), ids["B-1"])
        assert inactive is not None
        inactive.active = False
    return ids


async def badges(client: httpx.AsyncClient, actor: Actor, **params: object) -> list[str]:
    response = await client.get(OFFICERS, headers=actor.headers, params=params)
    assert response.status_code == 200, response.text
    return [o["badge_number"] for o in response.json()["items"]]


async def test_list_is_scoped_and_filtered(
    client: httpx.AsyncClient, db: Database, roster: dict[str, str], ps_officer: Actor
) -> None:
    assert await badges(client, ps_officer) == ["A-1", "A-2", "A_3", "B-1", "B-2"]
    assert await badges(client, ps_officer, unit_id=roster["unit"]) == ["A-1", "A-2"]
    assert await badges(client, ps_officer, active="false") == ["B-1"]
    assert await badges(client, ps_officer, active="true", q="b") == ["B-2"]
    assert await badges(client, ps_officer, department_id=str(TRAFFIC_POLICE)) == []
    assert await badges(client, ps_officer, q="a_") == ["A_3"]
    assert await badges(client, ps_officer, q="A%") == []
    assert await badges(client, ps_officer, q="am") == ["B-2"]
    assert await badges(client, ps_officer, q="zh") == ["A-1", "B-1"]
    admin = await make_actor(db, roles={TRAFFIC_POLICE: [Role.PLATFORM_ADMIN]})
    assert await badges(client, admin, department_id=str(TRAFFIC_POLICE)) == ["T-1", "T-2"]
    assert len(await badges(client, admin)) == 7
    listed = await events(db, ps_officer)
    assert len(listed) == 9
    assert {e["action"] for e in listed} == {"officers.list"}
    assert listed[1]["details"] == {
        "filters": {"unit_id": roster["unit"]},
        "count": 2,
        "page": False,
    }


async def test_pagination_walks_every_row_once(
    client: httpx.AsyncClient, db: Database, roster: dict[str, str]
) -> None:
    admin = await make_actor(db, roles={TRAFFIC_POLICE: [Role.PLATFORM_ADMIN]})
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await client.get(OFFICERS, headers=admin.headers, params=params)
        assert response.status_code == 200
        page = response.json()
        seen += [o["badge_number"] for o in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["A-1", "A-2", "A_3", "B-1", "B-2", "T-1", "T-2"]
    assert pages == 3
    exact = await client.get(OFFICERS, headers=admin.headers, params={"limit": 7})
    assert exact.json()["next_cursor"] is None


async def test_list_rejects_bad_paging(client: httpx.AsyncClient, ps_officer: Actor) -> None:
    for params, code in (
        ({"limit": 0}, "validation_failed"),
        ({"limit": 201}, "validation_failed"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": "WyJhIiwgIm5vdC1hLXV1aWQiXQ"}, "invalid_cursor"),
        ({"cursor": "WzFd"}, "invalid_cursor"),
    ):
        response = await client.get(OFFICERS, headers=ps_officer.headers, params=params)
        assert response.json()["error"] == code, params
        assert response.status_code == (400 if code == "invalid_cursor" else 422)


async def test_token_without_officers_read_is_refused(
    client: httpx.AsyncClient, db: Database
) -> None:
    token = await make_actor(
        db, roles={PUBLIC_SECURITY: [Role.OFFICER]}, scopes=[Permission.EVIDENCE_READ]
    )
    response = await client.get(OFFICERS, headers=token.headers)
    assert (response.status_code, response.json()["error"]) == (403, "permission_denied")
