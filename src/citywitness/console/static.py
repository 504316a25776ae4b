"""Serve the built console (web/dist) at `/`: its files, and index.html for app routes.

It is the router's fallback, not a route: whatever path no API route matches, so routes
added at any time keep precedence.

Hashed files under /assets/ are cached for a year (their names change with their content);
index.html is revalidated on every load, so a new build reaches browsers at once.  Paths
that are not files of the build get index.html (the app's router draws them), except API
and probe paths, which keep their JSON 404.  Every answer carries a Content-Security-Policy
that allows only this origin (plus the configured tile server for map images).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

import citywitness
from citywitness.kit.errors import NotFound
from citywitness.settings import Settings

RESERVED_PREFIXES = ("api/", "healthz", "readyz", "metrics", "docs", "redoc", "openapi.json")
ASSET_CACHE = "public, max-age=31536000, immutable"


class ConsoleNotBuilt(NotFound):
    code = "console_not_built"
    detail = "The web console is not built: run `make web` (make demo does it)."


def default_static_dir() -> Path:
    """web/dist of the source checkout this package runs from."""
    return Path(citywitness.__file__).resolve().parents[2] / "web" / "dist"


def content_security_policy(tile_url: str | None) -> str:
    images = "'self' data: blob:"
    if tile_url is not None and tile_url.startswith(("http://", "https://")):
        parts = urlsplit(tile_url.replace("{", "").replace("}", ""))
        images += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; "
        f"img-src {images}; "
        "media-src 'self' blob:; "
        "connect-src 'self' ws: wss:; "
        "style-src 'self' 'unsafe-inline'; "
        "worker-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )


def mount_console(app: FastAPI, settings: Settings) -> None:
    """Serve the console where no route matched (routes added later still come first)."""
    root = (settings.console.static_dir or default_static_dir()).resolve()
    headers = {
        "Content-Security-Policy": content_security_policy(settings.console.tile_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }

    def respond(path: str) -> Response:
        index = root / "index.html"
        if not index.is_file():
            raise ConsoleNotBuilt
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                cache = ASSET_CACHE if path.startswith("assets/") else "no-cache"
                return FileResponse(candidate, headers={**headers, "Cache-Control": cache})
            if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
                raise NotFound  # a missing file, not an app route
        return FileResponse(index, headers={**headers, "Cache-Control": "no-cache"})

    no_route = app.router.default

    async def console_or_404(scope: Scope, receive: Receive, send: Send) -> None:
        # The router's fallback: errors raised here reach the app's error handlers (JSON).
        path = str(scope["path"]).lstrip("/")
        if (
            scope["type"] == "http"
            and scope["method"] in {"GET", "HEAD"}
            and not path.startswith(RESERVED_PREFIXES)
        ):
            await respond(path)(scope, receive, send)
            return
        await no_route(scope, receive, send)  # the API's own 404 (or a WebSocket close)

    app.router.default = console_or_404
