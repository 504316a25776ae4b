"""The OpenAPI document: committed at docs/openapi.json, current, and complete enough to
test against (summaries, response models, the error schema on every 4xx)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from citywitness.cli.docs import OPENAPI_PATH, openapi_document, openapi_text

ROOT = Path(__file__).resolve().parent.parent
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in sorted(document["paths"].items())
        for method, operation in sorted(item.items())
        if method in METHODS
    ]


def test_committed_document_is_current() -> None:
    committed = (ROOT / OPENAPI_PATH).read_text(encoding="utf-8")
    assert committed == openapi_text(), (
        f"{OPENAPI_PATH} differs from the application's OpenAPI document: run `make openapi` "
        "and commit the result"
    )


def test_export_is_stable() -> None:
    assert openapi_text() == openapi_text()
    assert json.loads(openapi_text()) == openapi_document()


async def test_served_document_is_the_exported_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(openapi_text())


def test_document_metadata(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] == "CityWitness"
    assert document["info"]["license"]["identifier"] == "AGPL-3.0-or-later"


def test_every_operation_has_a_summary_and_a_success_response(
    document: dict[str, Any],
) -> None:
    """A summary, and a documented success.  A JSON body needs its schema (the response
    model); a GET documents its media type (JSON, CSV, Prometheus text); HEAD, 204,
    redirects and header-only protocol answers (tus' 201) have no body."""
    problems = []
    for method, path, operation in operations(document):
        name = f"{method.upper()} {path}"
        if not operation.get("summary"):
            problems.append(f"{name}: no summary")
        successes = {k: v for k, v in operation["responses"].items() if k[0] in "23"}
        if not successes:
            problems.append(f"{name}: no 2xx or 3xx response")
        for status, response in successes.items():
            content = response.get("content")
            if method == "head" or status == "204" or status.startswith("3"):
                continue
            if not content:
                if method == "get":
                    problems.append(f"{name} {status}: no content documented")
            elif "application/json" in content and not content["application/json"].get("schema"):
                problems.append(f"{name} {status}: JSON without a response model")
    assert problems == []


def test_every_client_error_uses_the_error_schema(document: dict[str, Any]) -> None:
    expected = {"$ref": "#/components/schemas/ErrorBody"}
    problems = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith("4"):
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema != expected:
                problems.append(f"{method.upper()} {path} {status}: {schema}")
    assert problems == []


def test_error_schema_replaces_fastapis_validation_error(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ErrorBody"]["required"] == ["error", "detail"]
    assert set(schemas["ErrorBody"]["properties"]) == {"error", "detail", "fields"}


def test_operations_with_a_body_document_400_413_and_422(document: dict[str, Any]) -> None:
    problems = []
    for method, path, operation in operations(document):
        if "requestBody" in operation:
            missing = {"400", "413", "422"} - set(operation["responses"])
            if missing:
                problems.append(f"{method.upper()} {path}: {sorted(missing)}")
    assert problems == []
