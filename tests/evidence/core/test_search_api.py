"""GET /evidence: filters, full text, place, keyset pages, and only what the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from citywitness.access.levels import Classification, Role
from citywitness.access.models import Grant
from citywitness.agencies.service import ensure_officer
from citywitness.kit.db import Database
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import audit_events, make_item
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
READER = {PUBLIC_SECURITY: [Role.OFFICER]}


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


async def _ids(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get("/api/v1/evidence", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
async def corpus(db: Database, store: ContentStore) -> dict[str, str]:
    """Five items of PUBLIC_SECURITY and one of TRAFFIC_POLICE, created oldest first."""
    async with db.transaction() as session:
        officer = await ensure_officer(
            session, badge_number="PS-7", display_name="O", department_id=PUBLIC_SECURITY
        )
    specs = {
        "crossing": {
            "captured_start": _at(0),
            "captured_end": _at(1),
            "tags": ["traffic", "night"],
            "notes": "Red light at the Jianguo crossing",
            "gps_track": [[116.40, 39.90], [116.41, 39.91]],
            "officer_badge": "PS-7",
            "recorder_serial": "BWC-1",
        },
        "market": {
            "captured_start": _at(5),
            "tags": ["market"],
            "notes": "Unlicensed stall",
            "gps_track": {"type": "Point", "coordinates": [121.47, 31.23]},
            "category_code": "administrative-evidence",
        },
        "secret": {"captured_start": _at(10), "classification": "secret", "notes": "informant"},
        "night": {"captured_start": _at(20), "tags": ["night"], "recorder_serial": "BWC-2"},
        "plain": {},
    }
    ids = {}
    for name, meta in specs.items():
        ids[name] = str((await make_item(db, store, **meta)).id)
    ids["other"] = str((await make_item(db, store, department_id=TRAFFIC_POLICE)).id)
    ids["officer"] = str(officer.id)
    return ids


async def test_only_what_the_caller_may_see_newest_first(
    db: Database, client: httpx.AsyncClient, corpus: dict[str, str]
) -> None:
    actor = await make_actor(db, roles=READER, clearance=Classification.SENSITIVE)
    found = await _ids(client, actor.headers)
    assert found == [corpus[n] for n in ("plain", "night", "market", "crossing")]
    [event] = await audit_events(db, "evidence.search")
    assert event.details == {"filters": {}, "count": 4, "page": False}


async def test_grants_add_single_items_of_other_departments(
    db: Database, client: httpx.AsyncClient, corpus: dict[str, str]
) -> None:
    actor = await make_actor(db, roles={TRAFFIC_POLICE: [Role.OFFICER]})
    async with db.transaction() as session:
        session.add(
            Grant(
                object_type="evidence",
                object_id=corpus["market"],
                permission="evidence:read",
                grantee_user_id=actor.user.id,
                granted_by=actor.user.id,
                reason="joint operation",
            )
        )
    assert await _ids(client, actor.headers) == [corpus["other"], corpus["market"]]
    response = await client.get(f"/api/v1/evidence/{corpus['market']}", headers=actor.headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"captured_from": _at(0.5), "captured_to": _at(6)}, ["market", "crossing"]),
        ({"captured_from": _at(1.5)}, ["night", "secret", "market"]),
        ({"tag": ["night"]}, ["night", "crossing"]),
        ({"tag": ["night", "traffic"]}, ["crossing"]),
        ({"q": "crossing"}, ["crossing"]),
        ({"q": "stall OR informant"}, ["secret", "market"]),
        ({"q": "night -traffic"}, ["night"]),
        ({"recorder_serial": "BWC-2"}, ["night"]),
        ({"category": "administrative-evidence"}, ["market"]),
        ({"classification": "secret"}, ["secret"]),
        ({"kind": "audio"}, []),
        ({"department_id": str(TRAFFIC_POLICE)}, []),
        ({"bbox": "116.0,39.0,117.0,40.0"}, ["crossing"]),
        ({"bbox": "116.405,39.905,116.406,39.906"}, ["crossing"]),
        ({"lat": 31.24, "lon": 121.47, "radius_m": 1500}, ["market"]),
        ({"lat": 31.24, "lon": 121.47, "radius_m": 1000}, []),
    ],
)
async def test_filters(
    db: Database,
    client: httpx.AsyncClient,
    corpus: dict[str, str],
    params: dict[str, Any],
    expected: list[str],
) -> None:
    actor = await make_actor(db, roles=READER)
    assert await _ids(client, actor.headers, **params) == [corpus[n] for n in expected]


async def test_officer_filter(
    db: Database, client: httpx.AsyncClient, corpus: dict[str, str]
) -> None:
    actor = await make_actor(db, roles=READER)
    found = await _ids(client, actor.headers, officer_id=corpus["officer"])
    assert found == [corpus["crossing"]]


async def test_keyset_pages_cover_everything_once(
    db: Database, client: httpx.AsyncClient, corpus: dict[str, str]
) -> None:
    actor = await make_actor(db, roles=READER)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/api/v1/evidence", params=params, headers=actor.headers)
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    expected = ["plain", "night", "secret", "market", "crossing"]
    assert seen == [corpus[n] for n in expected]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"cursor": "garbage!"}, 400, "invalid_cursor"),
        ({"bbox": "1,2,3"}, 422, "invalid_search"),
        ({"bbox": "10,10,0,0"}, 422, "invalid_search"),
        ({"lat": 10, "lon": 10}, 422, "invalid_search"),
        ({"captured_from": _at(2), "captured_to": _at(1)}, 422, "invalid_search"),
        ({"state": "destroyed"}, 422, "invalid_search"),
        ({"limit": 0}, 422, "validation_failed"),
        ({"classification": "top"}, 422, "validation_failed"),
        ({"q": "x" * 201}, 422, "validation_failed"),
    ],
)
async def test_bad_searches(
    db: Database, client: httpx.AsyncClient, params: dict[str, Any], status: int, code: str
) -> None:
    actor = await make_actor(db, roles=READER)
    response = await client.get("/api/v1/evidence", params=params, headers=actor.headers)
    assert (response.status_code, response.json()["error"]) == (status, code)
