"""Schemathesis over the OpenAPI document, against the in-process app.

Cases (valid and invalid data) are generated from the document with a fixed seed, then
sent through the test's own ASGI client, so everything they create lives in the `db`
fixture's transaction and is rolled back.  Every response must not be a 5xx, must have a
documented status and content type, and must match its documented schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import HypothesisException
from pydantic import BaseModel
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from citywitness.access.levels import Role
from citywitness.cli.docs import openapi_document
from citywitness.kit.db import Database
from tests.factories import PUBLIC_SECURITY, make_actor

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 25  # per operation and generation mode
CHECKS: list[Callable[..., Any]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BASE_URL = "http://testserver"

# Live segments are raw media bytes, sent like any binary body.
for _media in ("video/mp4", "video/iso.segment", "video/mp2t"):
    schemathesis.serializer.alias(_media, "application/octet-stream")


def _generate(strategy: Any) -> list[Case]:
    found: list[Case] = []

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Case) -> None:
        found.append(case)

    collect()
    return found


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    """Every operation's positive and negative cases, the same on every run."""
    schema = schemathesis.openapi.from_dict(openapi_document())
    generated: list[Case] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                generated.extend(_generate(operation.as_strategy(generation_mode=mode)))
            except HypothesisException:  # nothing to make invalid (no parameters, no body)
                continue
    return generated


@pytest.fixture
async def st_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, but an unhandled exception is the 500 a real server would send."""
    transport = httpx.ASGITransport(
        app=app, raise_app_exceptions=False, client=("203.0.113.7", 50000)
    )
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def _httpx_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Schemathesis' requests-style keyword arguments, for httpx."""
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": kwargs.get("headers") or {},
        "params": kwargs.get("params") or None,
        "cookies": kwargs.get("cookies") or None,
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, bytes | str):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    if kwargs.get("files"):
        request["files"] = kwargs["files"]
    return request


async def _run(client: httpx.AsyncClient, cases: list[Case], headers: dict[str, str]) -> str:
    failures: dict[tuple[str, str, str], str] = {}
    for case in cases:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
        response = await client.request(**_httpx_request(kwargs))
        try:
            case.validate_response(response, checks=CHECKS, headers=kwargs["headers"])
        except (Failure, FailureGroup) as exc:
            found = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
            kinds = ", ".join(sorted(f"{f.code} {f.title}" for f in found))
            key = (case.operation.method.upper(), case.operation.path, kinds)
            failures.setdefault(key, str(exc))
    return "\n\n".join(
        f"=== {method} {path}: {kinds}\n{text}"
        for (method, path, kinds), text in sorted(failures.items())
    )


def _assert_clean(report: str) -> None:
    if report:
        pytest.fail(f"schemathesis found problems:\n\n{report}", pytrace=False)


async def test_schema_holds_for_anonymous_callers(
    st_client: httpx.AsyncClient, cases: list[Case]
) -> None:
    _assert_clean(await _run(st_client, cases, {}))


async def test_schema_holds_for_a_platform_admin(
    st_client: httpx.AsyncClient, cases: list[Case], db: Database
) -> None:
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.PLATFORM_ADMIN]})
    _assert_clean(await _run(st_client, cases, admin.headers))


async def test_the_harness_reports_server_errors_and_schema_violations(
    app: FastAPI,
) -> None:
    """A check that cannot fail is a defect: a broken app must be caught."""
    broken = APIRouter(prefix="/broken-test")

    class Thing(BaseModel):
        name: str

    @broken.get("/crash", summary="Raises.", response_model=Thing)
    async def crash() -> Thing:
        raise RuntimeError("boom")

    @broken.get("/lies", summary="Breaks its schema.", response_model=Thing)
    async def lies() -> JSONResponse:
        return JSONResponse({"name": 5})

    app.include_router(broken, prefix="/api/v1")
    document = app.openapi()
    document["paths"] = {p: v for p, v in document["paths"].items() if "broken-test" in p}
    schema = schemathesis.openapi.from_dict(document)
    generated = [
        case
        for result in schema.get_all_operations()
        for case in _generate(result.ok().as_strategy())[:2]
    ]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        report = await _run(client, generated, {})
    assert "=== GET /api/v1/broken-test/crash: ST101 Server error, ST103 Undocumented" in report
    assert "=== GET /api/v1/broken-test/lies: ST108 Response violates schema" in report
