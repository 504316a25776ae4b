from __future__ import annotations

import httpx

from citywitness.access.levels import Role
from citywitness.kit.db import Database
from tests.factories import PUBLIC_SECURITY, make_actor


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response.headers["x-request-id"]) == 32


async def test_readyz_reports_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_token_actor_roundtrip(db: Database) -> None:
    actor = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    assert actor.token.startswith("cwt_")


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/api/v1/no/such/path")  # outside the API, the console answers
    await client.get("/api/v1/departments")
    body = (await client.get("/metrics")).text
    total = "citywitness_http_requests_total"
    assert f'{total}{{method="GET",route="/healthz",status="200"}} 1.0' in body
    assert f'{total}{{method="GET",route="unmatched",status="404"}} 1.0' in body
    assert f'{total}{{method="GET",route="/api/v1/departments",status="401"}} 1.0' in body


def test_cursor_round_trip_and_refusals() -> None:
    from citywitness.kit.cursor import InvalidCursor, decode_cursor, encode_cursor

    assert decode_cursor(encode_cursor(["2026-11-24T00:00:00+00:00", "42"]), 2) == [
        "2026-11-24T00:00:00+00:00",
        "42",
    ]
    for bad, size in (("%%%", 1), (encode_cursor(["a"]), 2), ("WzFd", 1)):  # WzFd is [1]
        try:
            decode_cursor(bad, size)
        except InvalidCursor as exc:
            assert (exc.status, exc.code) == (400, "invalid_cursor")
        else:
            raise AssertionError(f"{bad!r} was accepted")
