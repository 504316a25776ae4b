"""HTTP edge plumbing shared by every router: error rendering, request ids, body limits."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError as DatabaseDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citywitness.kit.errors import AppError

log = logging.getLogger("citywitness.http")

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}


class ErrorBody(BaseModel):
    """The one error shape of the API: `{"error": code, "detail": ..., "fields": ...}`."""

    error: str = Field(description="Stable machine code, e.g. `not_found`, `validation_failed`.")
    detail: str = Field(description="Human-readable explanation (not for parsing).")
    fields: dict[str, Any] | None = Field(
        default=None, description="Per-field problems, keyed by dotted field path."
    )


ERROR_DESCRIPTIONS = {
    400: "Malformed request (e.g. `malformed_json`).",
    401: "Not authenticated, or the session or token is invalid (`invalid_credentials`).",
    403: "Authenticated but not permitted.",
    404: "No such object, or it is outside the caller's scope.",
    409: "Conflicts with the current state.",
    413: "Request body over `server.max_body_bytes` (`payload_too_large`).",
    422: (
        "Some fields are not valid (`validation_failed`, see `fields`), or a value cannot "
        "be stored (`invalid_value`)."
    ),
    423: "Locked.",
    429: "Too many attempts; retry later.",
    503: "Not available right now.",
}


UNSTORABLE_DETAIL = (
    "a value cannot be stored (e.g. a NUL character in text, or a number out of range)"
)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting `statuses` with the error schema.

    `@router.post(..., responses=error_responses(401, 403, 404))`
    """
    return {
        status: {
            "model": ErrorBody,
            "description": ERROR_DESCRIPTIONS.get(status, HTTP_CODES.get(status, "Error")),
        }
        for status in statuses
    }


def error_response(
    status: int, code: str, detail: Any, fields: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": code, "detail": detail, "fields": fields}, status_code=status, headers=headers
    )


def _validation_fields(exc: RequestValidationError) -> tuple[str, str, dict[str, str]]:
    fields: dict[str, str] = {}
    code, detail = "validation_failed", "some fields are not valid"
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if err.get("type") == "json_invalid":
            code, detail = "malformed_json", "the request body is not valid JSON"
        key = ".".join(
            loc[1:] if loc and loc[0] in {"body", "query", "path", "header", "cookie"} else loc
        )
        fields[key or "body"] = str(err.get("msg", "invalid"))
    return code, detail, fields


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.detail, exc.fields, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        code, detail, fields = _validation_fields(exc)
        status = 400 if code == "malformed_json" else 422
        return error_response(status, code, detail, fields)

    @app.exception_handler(DatabaseDataError)
    async def _unstorable(_request: Request, exc: DatabaseDataError) -> JSONResponse:
        # A value the database cannot hold (a NUL character in text, a number out of its
        # column's range) is bad input that got past validation: 422, never a 500.
        log.info("unstorable value refused", extra={"cause": type(exc.orig).__name__})
        return error_response(422, "invalid_value", UNSTORABLE_DETAIL, None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code
        return error_response(exc.status_code, code, detail, None, dict(exc.headers or {}))

    _document_error_shape(app)


def _document_error_shape(app: FastAPI) -> None:
    """Make the OpenAPI document describe the errors the handlers above really send.

    FastAPI documents 422 with its own `HTTPValidationError`; here every such response is
    replaced by `ErrorBody`, and operations that take a body also document 400
    (`malformed_json`) and 413 (`payload_too_large`), which the edge answers for them.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _use_error_body(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def _use_error_body(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": ERROR_DESCRIPTIONS[422],
                    "content": _error_content(),
                }
            if "requestBody" in operation:
                for status in (400, 413):
                    responses.setdefault(
                        str(status),
                        {"description": ERROR_DESCRIPTIONS[status], "content": _error_content()},
                    )
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's, now unreferenced
        if f'"#/components/schemas/{name}"' not in json.dumps(schema):
            components.pop(name, None)


def route_template(scope: Scope) -> str | None:
    """The full path template of the matched route (`/api/v1/users/{user_id}`), or None.

    Never the raw path: that may carry ids or personal data.  FastAPI includes routers
    lazily, so `scope["route"]` holds the route as declared in its router (without the
    include prefix); the effective route context holds the full template.
    """
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path_format", None)
    if isinstance(template, str) and template:
        return template
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else None


class RequestContextMiddleware:
    """Gives every request an id (X-Request-Id in and out) and logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = (
            incoming if 8 <= len(incoming) <= 64 and incoming.isascii() else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "route": route_template(scope) or "unmatched",
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


class BodyLimitMiddleware:
    """Refuses request bodies over `limit` bytes with 413, by header and while streaming.

    Paths under `exempt_prefixes` (e.g. resumable uploads) enforce their own limits.
    """

    def __init__(self, app: ASGIApp, limit: int, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                await _send_error(send, 400, "bad_request", "invalid Content-Length")
                return
            if too_big:
                await self._too_large(send)
                return
        await self._streamed(scope, receive, send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count a body without Content-Length (chunked) as it arrives.

        Whatever the app makes of the interrupted read (FastAPI turns it into a 400), the
        client gets 413: once the limit is crossed the app's own response is replaced.
        """
        received = 0
        exceeded = started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                if started:
                    return
                started = True
                if exceeded:
                    await self._too_large(send)
                    return
            if not exceeded:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        await _send_error(send, 413, "payload_too_large", f"body over {self.limit} bytes")


class _BodyTooLarge(Exception):
    pass


async def _send_error(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"error": code, "detail": detail, "fields": None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
