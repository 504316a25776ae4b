from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.audit.models import AuditEvent
from citywitness.kit.db import Database
from tests.audit.conftest import Trail
from tests.factories import PUBLIC_SECURITY, URBAN_MANAGEMENT, Actor, make_actor

CSV = "/api/v1/audit/events.csv"
HEADER = [
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_kind",
    "department_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "client_address",
    "request_id",
    "reason",
    "details",
]


@pytest.fixture
async def admin(db: Database) -> Actor:
    return await make_actor(db, roles={URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]})


def rows(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


async def test_csv_has_exact_columns_and_values(
    client: httpx.AsyncClient, trail: Trail, admin: Actor
) -> None:
    response = await client.get(CSV, headers=admin.headers, params={"action_prefix": "t."})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="audit-events-\d{8}T\d{6}Z\.csv"',
        response.headers["content-disposition"],
    )
    assert response.content.endswith(b"\r\n")
    table = rows(response)
    assert table[0] == HEADER
    assert [int(r[0]) for r in table[1:]] == [trail.ids[f"e{i}"] for i in range(6, 0, -1)]
    by_id = {int(r[0]): r for r in table[1:]}
    assert by_id[trail.ids["e1"]] == [
        str(trail.ids["e1"]),
        "2026-03-01T08:00:00+00:00",
        str(trail.member_tp),
        "user",
        str(PUBLIC_SECURITY),
        "t.evidence.read",
        "evidence",
        "E1",
        "success",
        "10.0.0.1",
        "req-e1",
        "",
        '{"n": 1, "z": "中文"}',
    ]
    # A reason that a spreadsheet would run as a formula is neutralized.
    assert by_id[trail.ids["e6"]][11] == "'=cmd|' /C calc'!A0"
    assert by_id[trail.ids["e5"]][2:5] == ["", "anonymous", ""]


async def test_csv_filters_max_rows_and_the_server_cap(
    app: FastAPI, client: httpx.AsyncClient, trail: Trail, admin: Actor
) -> None:
    only = await client.get(CSV, headers=admin.headers, params={"action_prefix": "t.auth"})
    assert [r[0] for r in rows(only)[1:]] == [str(trail.ids["e5"]), str(trail.ids["e4"])]
    capped = await client.get(
        CSV, headers=admin.headers, params={"action_prefix": "t.", "max_rows": 2}
    )
    assert [r[0] for r in rows(capped)[1:]] == [str(trail.ids["e6"]), str(trail.ids["e5"])]
    app.state.settings.server.audit_export_max_rows = 3
    over = await client.get(
        CSV, headers=admin.headers, params={"action_prefix": "t.", "max_rows": 50}
    )
    assert len(rows(over)) == 1 + 3
    empty = await client.get(CSV, headers=admin.headers, params={"action": "nothing.at.all"})
    assert rows(empty) == [HEADER]
    bad = await client.get(CSV, headers=admin.headers, params={"max_rows": 0})
    assert (bad.status_code, bad.json()["error"]) == (422, "validation_failed")


async def test_csv_is_scoped_and_the_export_is_audited(
    client: httpx.AsyncClient, db: Database, trail: Trail
) -> None:
    auditor = await make_actor(db, roles={PUBLIC_SECURITY: [Role.AUDITOR]})
    response = await client.get(
        CSV, headers=auditor.headers, params={"action_prefix": "t.", "max_rows": 10}
    )
    expected = [trail.ids[n] for n in ("e6", "e4", "e2", "e1")]
    assert [int(r[0]) for r in rows(response)[1:]] == expected
    async with db.transaction() as session:
        exports = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.actor_user_id == auditor.user.id)
            )
        )
    assert [(e.action, e.outcome, e.details) for e in exports] == [
        ("audit.export", "success", {"filters": {"action_prefix": "t."}, "max_rows": 10})
    ]
