from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.access.permissions import Permission
from citywitness.audit.cursor import decode_event_cursor, encode_event_cursor
from citywitness.audit.models import AuditEvent
from citywitness.kit.db import Database
from tests.audit.conftest import T0, Trail
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, URBAN_MANAGEMENT, Actor, make_actor

EVENTS = "/api/v1/audit/events"


@pytest.fixture
async def admin(db: Database) -> Actor:
    return await make_actor(db, roles={URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]})


async def names(
    client: httpx.AsyncClient, actor: Actor, trail: Trail, **params: object
) -> list[str]:
    by_id = {v: k for k, v in trail.ids.items()}
    response = await client.get(
        EVENTS, headers=actor.headers, params={"action_prefix": "t."} | params
    )
    assert response.status_code == 200, response.text
    return [by_id[e["id"]] for e in response.json()["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["e6", "e5", "e4", "e3", "e2", "e1"]),
        ({"since": (T0 + timedelta(minutes=2)).isoformat()}, ["e6", "e5", "e4", "e3"]),
        ({"until": (T0 + timedelta(minutes=2)).isoformat()}, ["e2", "e1"]),
        (
            {
                "since": (T0 + timedelta(minutes=1)).isoformat(),
                "until": (T0 + timedelta(minutes=3)).isoformat(),
            },
            ["e3", "e2"],
        ),
        ({"department_id": str(TRAFFIC_POLICE)}, ["e3", "e2"]),
        ({"action": "t.evidence.play"}, ["e3", "e2"]),
        ({"action": "t.evidence"}, []),
        ({"action_prefix": "t.evidence"}, ["e3", "e2", "e1"]),
        ({"action_prefix": "t.auth"}, ["e5", "e4"]),
        ({"action_prefix": "t_"}, []),
        ({"object_type": "evidence", "object_id": "E2"}, ["e2"]),
        ({"outcome": "failure"}, ["e5", "e4"]),
        ({"outcome": "denied"}, ["e3"]),
        ({"client_address": "10.0.0.1"}, ["e3", "e1"]),
        ({"client_address": "10.0.0.1", "outcome": "success"}, ["e1"]),
    ],
)
async def test_filters_return_exactly_the_matching_events(
    client: httpx.AsyncClient,
    trail: Trail,
    admin: Actor,
    params: dict[str, str],
    expected: list[str],
) -> None:
    assert await names(client, admin, trail, **params) == expected


async def test_filter_by_actor(client: httpx.AsyncClient, trail: Trail, admin: Actor) -> None:
    assert await names(client, admin, trail, actor_user_id=str(trail.member_tp)) == ["e3", "e1"]
    assert await names(client, admin, trail, actor_user_id=str(trail.member_ps)) == ["e4", "e2"]


async def test_event_body(client: httpx.AsyncClient, trail: Trail, admin: Actor) -> None:
    response = await client.get(EVENTS, headers=admin.headers, params={"action": "t.evidence.read"})
    assert response.json() == {
        "items": [
            {
                "id": trail.ids["e1"],
                "occurred_at": "2026-03-01T08:00:00Z",
                "actor_user_id": str(trail.member_tp),
                "actor_kind": "user",
                "department_id": str(PUBLIC_SECURITY),
                "action": "t.evidence.read",
                "object_type": "evidence",
                "object_id": "E1",
                "outcome": "success",
                "client_address": "10.0.0.1",
                "request_id": "req-e1",
                "reason": None,
                "details": {"n": 1, "z": "中文"},
            }
        ],
        "next_cursor": None,
    }


async def test_department_auditor_sees_their_departments_and_members(
    client: httpx.AsyncClient, db: Database, trail: Trail
) -> None:
    auditor = await make_actor(db, roles={PUBLIC_SECURITY: [Role.AUDITOR]})
    assert await names(client, auditor, trail) == ["e6", "e4", "e2", "e1"]
    traffic_auditor = await make_actor(db, roles={TRAFFIC_POLICE: [Role.AUDITOR]})
    assert await names(client, traffic_auditor, trail) == ["e3", "e2", "e1"]
    # Filters only narrow the scope, never widen it.
    assert await names(client, auditor, trail, department_id=str(TRAFFIC_POLICE)) == ["e2"]


async def test_reading_needs_audit_read(client: httpx.AsyncClient, db: Database) -> None:
    admin_of_ps = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    scoped = await make_actor(
        db, roles={PUBLIC_SECURITY: [Role.AUDITOR]}, scopes=[Permission.USERS_READ]
    )
    for actor in (admin_of_ps, scoped):
        for url in (EVENTS, EVENTS + ".csv"):
            response = await client.get(url, headers=actor.headers)
            assert (response.status_code, response.json()["error"]) == (403, "permission_denied")
    assert (await client.get(EVENTS)).status_code == 401


async def test_pagination_covers_every_row_once(
    client: httpx.AsyncClient, db: Database, admin: Actor
) -> None:
    async with db.transaction() as session:
        for i in range(23):
            session.add(
                AuditEvent(
                    occurred_at=T0 + timedelta(seconds=i % 4),  # ties on occurred_at
                    actor_kind="system",
                    action="p.page",
                    outcome="success",
                    details={"i": i},
                )
            )
        await session.flush()
        rows = await session.execute(
            select(AuditEvent.id)
            .where(AuditEvent.action == "p.page")
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        )
        expected = list(rows.scalars())
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"action": "p.page", "limit": 5} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(EVENTS, headers=admin.headers, params=params)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert len(set(seen)) == 23


async def test_reading_is_itself_audited(
    client: httpx.AsyncClient, db: Database, trail: Trail, admin: Actor
) -> None:
    await client.get(EVENTS, headers=admin.headers, params={"action_prefix": "t.", "limit": 2})
    async with db.transaction() as session:
        reads = list(
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.actor_user_id == admin.user.id, AuditEvent.action == "audit.read"
                )
            )
        )
    assert [(e.outcome, e.details) for e in reads] == [
        ("success", {"filters": {"action_prefix": "t."}, "count": 2, "page": False})
    ]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"outcome": "maybe"}, "validation_failed"),
        ({"since": "2026-03-01T08:00:00"}, "validation_failed"),
        ({"limit": 0}, "validation_failed"),
        ({"limit": 501}, "validation_failed"),
        ({"colour": "red"}, "validation_failed"),
        ({"cursor": "%%%"}, "invalid_cursor"),
        ({"cursor": "MjAyNi0wMy0wMVQwODowMDowMHw1"}, "invalid_cursor"),
        (
            {"cursor": "MjAyNi0wMy0wMVQwODowMDowMCswMDowMHw5OTk5OTk5OTk5OTk5OTk5OTk5OQ"},
            "invalid_cursor",
        ),
    ],
)
async def test_bad_queries(
    client: httpx.AsyncClient, admin: Actor, params: dict[str, object], code: str
) -> None:
    response = await client.get(EVENTS, headers=admin.headers, params=params)
    assert response.json()["error"] == code
    assert response.status_code == (400 if code == "invalid_cursor" else 422)


def test_cursor_round_trip() -> None:
    assert decode_event_cursor(encode_event_cursor(T0, 42)) == (T0, 42)
