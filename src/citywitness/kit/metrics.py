"""Prometheus HTTP metrics: requests and latency by route template (never by raw path)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, registry: CollectorRegistry, prefix: str = "") -> None:
        self.app = app
        self.prefix = prefix
        self.requests = Counter(
            "citywitness_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "citywitness_http_request_duration_seconds",
            "HTTP request duration by method and route template.",
            ["method", "route"],
            registry=registry,
        )

    def _template(self, scope: Scope) -> str:
        """The matched route's template; routers mounted under `prefix` report their
        own path without it, so it is put back."""
        route = getattr(scope.get("route"), "path", None)
        if route is None:
            return "unmatched"
        path = str(scope.get("path", ""))
        if self.prefix and path.startswith(self.prefix) and not route.startswith(self.prefix):
            return f"{self.prefix}{route}"
        return str(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = self._template(scope)
            method = str(scope.get("method", ""))
            self.requests.labels(method, route, str(status["code"])).inc()
            self.latency.labels(method, route).observe(time.perf_counter() - started)
