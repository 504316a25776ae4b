"""create_app(settings, db): routers, error handling, middleware, health and metrics."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text

from citywitness import __version__
from citywitness.access.errors import ActionForbidden, Denied, ObjectNotVisible
from citywitness.api.deps import CsrfFailed, InvalidCredentials, client_address
from citywitness.audit.service import Auditor, Outcome
from citywitness.console.static import mount_console
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError
from citywitness.kit.health import Readiness, healthy
from citywitness.kit.metrics import HttpMetricsMiddleware
from citywitness.kit.web import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    error_response,
    install_error_handlers,
)
from citywitness.routers import ROUTERS
from citywitness.settings import Settings

API_PREFIX = "/api/v1"


class ReadinessOut(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(
        description="Each component: 'ok', 'ok: <note>' (ready; e.g. off or degraded) or why "
        "it is not ready."
    )


def create_app(settings: Settings, db: Database, readiness: Readiness | None = None) -> FastAPI:
    app = FastAPI(
        title="CityWitness",
        version=__version__,
        summary="Evidence, telemetry and early warning for a city's law-enforcement recorders.",
        license_info={"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
    )
    app.state.settings = settings
    app.state.db = db
    app.state.readiness = readiness or Readiness()
    app.state.readiness.add("database", _database_check(db))
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    denials = Counter(
        "citywitness_access_denied_total", "Denied accesses", ["code"], registry=registry
    )

    install_error_handlers(app)

    @app.exception_handler(ObjectNotVisible)
    @app.exception_handler(ActionForbidden)
    @app.exception_handler(InvalidCredentials)
    @app.exception_handler(CsrfFailed)
    async def _denied(request: Request, exc: AppError) -> JSONResponse:
        denials.labels(exc.code).inc()
        await _audit_denial(request, exc)
        return error_response(exc.status, exc.code, exc.detail, exc.fields, exc.headers)

    # Probes first: FastAPI matches routes in order, and probes are the most frequent calls.
    @app.get("/healthz", tags=["health"], summary="Liveness: the process answers.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: database, jobs and storage.",
        response_model=ReadinessOut,
        responses={503: {"model": ReadinessOut, "description": "A component is not ready."}},
    )
    async def readyz() -> JSONResponse:
        results = await app.state.readiness.run()
        ready = all(healthy(v) for v in results.values())
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics.",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
    )
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    if settings.console.enabled:
        mount_console(app, settings)  # where no route matches: never shadows the API

    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.server.max_body_bytes,
        # tus bodies and live segments stream and enforce their own limits
        exempt_prefixes=(f"{API_PREFIX}/uploads", f"{API_PREFIX}/devices/self/sessions/"),
    )
    app.add_middleware(HttpMetricsMiddleware, registry=registry)
    app.add_middleware(RequestContextMiddleware)
    return app


def _database_check(db: Database) -> Any:
    async def check() -> str | None:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None

    return check


async def _audit_denial(request: Request, exc: AppError) -> None:
    """Record a denied access in its own transaction (the request's was rolled back)."""
    if not isinstance(exc, Denied):
        return
    db: Database = request.app.state.db
    async with db.transaction() as session:
        auditor = Auditor(
            session=session,
            actor=getattr(request.state, "principal", None),
            client_address=client_address(request),
            request_id=getattr(request.state, "request_id", None),
        )
        await auditor.record(
            exc.action or "access",
            outcome=Outcome.DENIED,
            object_type=exc.object_type,
            object_id=exc.object_id,
            details={"code": exc.code, "method": request.method, "path": request.url.path},
        )
