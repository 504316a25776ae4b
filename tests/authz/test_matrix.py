"""Runs the authorization matrix (see matrix.py) over every /api/v1 endpoint."""

from __future__ import annotations

import importlib
import pkgutil

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from citywitness.kit.db import Database
from tests import authz
from tests.authz.matrix import Caller, Case, make_caller

UNFINGERPRINTED = ("audit_events", "alembic_version")
# Table names come from pg_tables, never from input.
FINGERPRINT = (
    "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
)


def _all_cases() -> list[Case]:
    cases: list[Case] = []
    for module in pkgutil.iter_modules(authz.__path__):
        if module.name.startswith("cases_"):
            cases.extend(importlib.import_module(f"tests.authz.{module.name}").CASES)
    return cases


ALL_CASES = _all_cases()
ROWS = [(case, kind) for case in ALL_CASES for kind in Caller if kind in case.expect]


def _api_routes(app: FastAPI) -> set[str]:
    """Every (method, path) under /api/v1 as FastAPI documents it (included routers too)."""
    found = set()
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/v1/"):
            found.update(f"{method.upper()} {path}" for method in operations)
    assert found, "no /api/v1 routes found: the route listing is broken"
    return found


def test_every_route_has_a_case(app: FastAPI) -> None:
    declared = [case.id for case in ALL_CASES]
    assert len(declared) == len(set(declared)), "an endpoint has two cases"
    routes = _api_routes(app)
    assert sorted(routes - set(declared)) == [], "endpoints without an authorization case"
    assert sorted(set(declared) - routes) == [], "cases for endpoints that do not exist"


async def _fingerprint(connection: AsyncConnection) -> dict[str, str]:
    tables = (
        await connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename NOT LIKE 'procrastinate%' ORDER BY tablename"
            )
        )
    ).scalars()
    prints = {}
    for table in tables:
        if table in UNFINGERPRINTED:
            continue
        query = FINGERPRINT.format(table=table)
        digest = await connection.execute(text(query))
        prints[table] = digest.scalar_one()
    return prints


@pytest.mark.parametrize(("case", "kind"), ROWS, ids=[f"{c.id} [{k}]" for c, k in ROWS])
async def test_authorization(
    case: Case,
    kind: Caller,
    db: Database,
    connection: AsyncConnection,
    client: httpx.AsyncClient,
) -> None:
    caller = await make_caller(db, kind, case.permission)
    prepared = await case.prepare(db, caller)
    path = case.route.format(**prepared.path)
    headers = {**(caller.headers if caller else {}), **(prepared.headers or {})}
    expected = case.expect[kind]
    before = await _fingerprint(connection) if expected >= 400 else None
    denials_before = await _denials(connection)
    response = await client.request(
        case.method,
        path,
        headers=headers,
        json=prepared.json,
        params=prepared.params,
        content=prepared.content,
    )
    assert response.status_code == expected, response.text
    if before is not None:
        if case.method != "HEAD":  # a HEAD response has no body
            assert response.json()["error"], response.text
        assert await _fingerprint(connection) == before, "a denied call changed data"
    if expected in (403, 404) and not case.absent_is_not_denial:
        assert await _denials(connection) == denials_before + 1, "the denial was not audited"


async def _denials(connection: AsyncConnection) -> int:
    result = await connection.execute(
        text("SELECT count(*) FROM audit_events WHERE outcome = 'denied'")
    )
    return int(result.scalar_one())
