"""The HTTP edge: every kind of bad request gets a 4xx with a machine code in the one error
shape; request ids on every response; JSON log lines without credentials."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Integer, cast, func, literal, select, update

from citywitness.access.levels import Role
from citywitness.api.deps import CurrentPrincipal, DbSession
from citywitness.app import create_app
from citywitness.identity.models import ApiToken
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.logs import JsonFormatter
from citywitness.kit.web import UNSTORABLE_DETAIL
from citywitness.settings import Settings
from tests.factories import PUBLIC_SECURITY, Actor, make_actor

LIMIT = 2048


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=20)
    count: int = Field(ge=0)
    note: str = Field(default="", max_length=4000)


edge = APIRouter(prefix="/edge-test")


@edge.post("/widgets", summary="Echo a widget (test only).")
async def post_widget(widget: Widget) -> Widget:
    return widget


@edge.post("/stored", summary="Run the widget's values through PostgreSQL (test only).")
async def store_widget(widget: Widget, session: DbSession) -> dict[str, int]:
    length = await session.scalar(select(func.length(literal(widget.name))))
    count = await session.scalar(select(cast(literal(widget.count), Integer)))
    return {"length": int(length or 0), "count": int(count or 0)}


@edge.get("/me", summary="Who is asking (test only).")
async def who(principal: CurrentPrincipal) -> dict[str, str]:
    return {"username": principal.username}


@pytest.fixture
def edge_app(tmp_path: Path, database_url: str, db: Database) -> FastAPI:
    settings = Settings(
        data_dir=tmp_path / "data",
        database={"url": database_url},  # type: ignore[arg-type]
        server={"max_body_bytes": LIMIT},  # type: ignore[arg-type]
        jobs={"in_process_worker": False},  # type: ignore[arg-type]
    )
    app = create_app(settings, db)
    app.include_router(edge, prefix="/api/v1")
    return app


@pytest.fixture
async def edge_client(edge_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=edge_app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def actor(db: Database) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})


WIDGETS = "/api/v1/edge-test/widgets"
STORED = "/api/v1/edge-test/stored"
ME = "/api/v1/edge-test/me"
JSON = {"content-type": "application/json"}


async def test_valid_body_is_accepted(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.post(WIDGETS, json={"name": "cam", "count": 2})
    assert response.status_code == 200
    assert response.json() == {"name": "cam", "count": 2, "note": ""}


@pytest.mark.parametrize(
    "body",
    [b'{"name": "cam", "count": ', b"{'name': 'cam'}", b"\xff\xfe", b"[1, 2"],
)
async def test_malformed_json_is_400(edge_client: httpx.AsyncClient, body: bytes) -> None:
    response = await edge_client.post(WIDGETS, content=body, headers=JSON)
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == "malformed_json"
    assert payload["detail"] == "the request body is not valid JSON"


async def test_wrong_types_are_422_with_fields(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.post(WIDGETS, json={"name": 5, "count": "many"})
    assert response.status_code == 422
    assert response.json() == {
        "error": "validation_failed",
        "detail": "some fields are not valid",
        "fields": {
            "name": "Input should be a valid string",
            "count": "Input should be a valid integer, unable to parse string as an integer",
        },
    }


async def test_unknown_fields_are_422(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.post(WIDGETS, json={"name": "cam", "count": 1, "colour": "red"})
    assert response.status_code == 422
    assert response.json() == {
        "error": "validation_failed",
        "detail": "some fields are not valid",
        "fields": {"colour": "Extra inputs are not permitted"},
    }


async def test_values_postgresql_cannot_hold_are_422(edge_client: httpx.AsyncClient) -> None:
    fine = await edge_client.post(STORED, json={"name": "cam", "count": 7})
    assert fine.status_code == 200
    assert fine.json() == {"length": 3, "count": 7}
    for widget in ({"name": "a\u0000b", "count": 1}, {"name": "cam", "count": 2**40}):
        response = await edge_client.post(STORED, json=widget)
        assert response.status_code == 422
        assert response.json() == {
            "error": "invalid_value",
            "detail": UNSTORABLE_DETAIL,
            "fields": None,
        }


async def test_constraints_and_missing_fields_are_422(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.post(WIDGETS, json={"name": "x" * 21})
    assert response.status_code == 422
    assert response.json()["fields"] == {
        "name": "String should have at most 20 characters",
        "count": "Field required",
    }


async def test_a_json_array_instead_of_an_object_is_422(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.post(WIDGETS, json=[1, 2])
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"


async def test_missing_body_is_422(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.post(WIDGETS)
    assert response.status_code == 422
    assert response.json() == {
        "error": "validation_failed",
        "detail": "some fields are not valid",
        "fields": {"body": "Field required"},
    }


async def test_oversized_body_by_content_length_is_413(edge_client: httpx.AsyncClient) -> None:
    body = json.dumps({"name": "cam", "count": 1, "note": "x" * LIMIT}).encode()
    response = await edge_client.post(WIDGETS, content=body, headers=JSON)
    assert response.status_code == 413
    assert response.json() == {
        "error": "payload_too_large",
        "detail": f"body over {LIMIT} bytes",
        "fields": None,
    }


async def test_body_at_the_limit_is_accepted(edge_client: httpx.AsyncClient) -> None:
    prefix = b'{"name": "cam", "count": 1, "note": "'
    body = prefix + b"x" * (LIMIT - len(prefix) - 2) + b'"}'
    assert len(body) == LIMIT
    response = await edge_client.post(WIDGETS, content=body, headers=JSON)
    assert response.status_code == 200
    assert response.json()["note"] == "x" * (LIMIT - len(prefix) - 2)


async def test_oversized_chunked_body_is_413(edge_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "cam", "count": 1, "note": "'
        for _ in range(10):
            yield b"x" * 512
        yield b'"}'

    response = await edge_client.post(WIDGETS, content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


async def test_small_chunked_body_is_accepted(edge_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "cam", '
        yield b'"count": 3}'

    response = await edge_client.post(WIDGETS, content=chunks(), headers=JSON)
    assert response.status_code == 200
    assert response.json() == {"name": "cam", "count": 3, "note": ""}


async def test_invalid_content_length_is_400(edge_app: FastAPI) -> None:
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": WIDGETS,
        "raw_path": WIDGETS.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", b"12abc")],
        "client": ("203.0.113.9", 50000),
        "server": ("testserver", 80),
    }
    await edge_app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"]) == {  # type: ignore[arg-type]
        "error": "bad_request",
        "detail": "invalid Content-Length",
        "fields": None,
    }


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer garbage",
        "Bearer cwt_0123abcd_notthesecret",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer cwt_" + "z" * 5000,
    ],
)
async def test_bad_tokens_are_401(edge_client: httpx.AsyncClient, authorization: str) -> None:
    response = await edge_client.get(ME, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"


async def test_good_token_is_accepted(edge_client: httpx.AsyncClient, actor: Actor) -> None:
    response = await edge_client.get(ME, headers=actor.headers)
    assert response.status_code == 200
    assert response.json() == {"username": actor.user.username}


async def test_expired_token_is_401(
    edge_client: httpx.AsyncClient, actor: Actor, db: Database
) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == actor.user.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = await edge_client.get(ME, headers=actor.headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"


async def test_revoked_token_is_401(
    edge_client: httpx.AsyncClient, actor: Actor, db: Database
) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(ApiToken).where(ApiToken.user_id == actor.user.id).values(revoked_at=utcnow())
        )
    response = await edge_client.get(ME, headers=actor.headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"


async def test_bad_session_cookie_is_401(edge_client: httpx.AsyncClient) -> None:
    edge_client.cookies.set("cw_session", "not-a-session")
    response = await edge_client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"


async def test_anonymous_is_401_not_authenticated(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get(ME)
    assert response.status_code == 401
    assert response.json() == {
        "error": "not_authenticated",
        "detail": "log in or send an API token",
        "fields": None,
    }


async def test_unknown_route_is_404_json(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "not_found", "detail": "Not Found", "fields": None}


async def test_wrong_method_is_405_json(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.delete(WIDGETS)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "error": "method_not_allowed",
        "detail": "Method Not Allowed",
        "fields": None,
    }


async def test_request_id_is_echoed_when_sane(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.get("/healthz", headers={"X-Request-Id": "abcdef0123456789"})
    assert response.headers["x-request-id"] == "abcdef0123456789"


@pytest.mark.parametrize("incoming", ["short", "x" * 65, "naïve-request-id"])
async def test_request_id_is_replaced_when_not_sane(
    edge_client: httpx.AsyncClient, incoming: str
) -> None:
    response = await edge_client.get("/healthz", headers={"X-Request-Id": incoming.encode()})
    assert response.headers["x-request-id"] != incoming
    assert len(response.headers["x-request-id"]) == 32


async def test_error_responses_carry_a_request_id(edge_client: httpx.AsyncClient) -> None:
    response = await edge_client.post(WIDGETS, content=b"{", headers=JSON)
    assert response.status_code == 400
    assert len(response.headers["x-request-id"]) == 32


async def test_logs_are_json_with_request_id_and_no_credentials(
    edge_client: httpx.AsyncClient, actor: Actor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    edge_client.cookies.set("cw_session", "cookie-secret-value")
    ok = await edge_client.get(ME, headers=actor.headers)
    bad = await edge_client.get(ME, headers={"Authorization": "Bearer cwt_0123abcd_secretvalue"})
    assert ok.status_code == 200
    assert bad.status_code == 401
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    requests = [json.loads(line) for line in lines if json.loads(line)["msg"] == "request"]
    assert [(r["request_id"], r["status"]) for r in requests] == [
        (ok.headers["x-request-id"], 200),
        (bad.headers["x-request-id"], 401),
    ]
    assert requests[0]["route"] == "/api/v1/edge-test/me"
    text = "\n".join(lines)
    for secret in (actor.token, "cookie-secret-value", "secretvalue", actor.user.username):
        assert secret not in text
