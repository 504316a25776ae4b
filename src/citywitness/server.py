"""`citywitness serve`: database, migrations, the API under uvicorn, and workers."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from citywitness.app import create_app
from citywitness.kit.db import Database
from citywitness.kit.logs import configure_logging
from citywitness.runtime import database_url
from citywitness.settings import Settings

log = logging.getLogger(__name__)


def run_server(settings: Settings) -> None:
    configure_logging(settings.logging.level, settings.logging.json_output)
    with database_url(settings) as url:
        asyncio.run(_serve(settings, url))


async def _serve(settings: Settings, url: str) -> None:
    db = Database(
        url, pool_size=settings.database.pool_size, max_overflow=settings.database.max_overflow
    )
    app = create_app(settings, db)
    config = uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        proxy_headers=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    try:
        log.info("listening", extra={"url": settings.server.public_url})
        await server.serve()
    finally:
        await db.dispose()
