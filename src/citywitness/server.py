"""`citywitness serve`: database, migrations, the API under uvicorn, and workers.

Signals: the first SIGINT/SIGTERM stops uvicorn gracefully, then the in-process worker
(running jobs get `jobs.shutdown_timeout_seconds`), then the database pool; the embedded
PostgreSQL stops last (`runtime.database_url`).  A second signal forces both down.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager

import uvicorn
from fastapi import FastAPI

from citywitness.alerts.runtime import start_alerts
from citywitness.analysis.errors import AnalysisMisconfigured
from citywitness.analysis.live import consumer as analysis_live_consumer
from citywitness.analysis.pipeline import configured as analysis_configured
from citywitness.app import create_app
from citywitness.devices.commands_publisher import publishing
from citywitness.devices.mqtt_runtime import MqttStartupError, start_mqtt
from citywitness.evidence.runtime import storage_readiness
from citywitness.geo.evaluation import consumer as geofences_consumer
from citywitness.kit.db import Database
from citywitness.kit.health import Readiness
from citywitness.kit.jobs import readiness_check
from citywitness.kit.logs import configure_logging
from citywitness.ledger.witness_health import add_ledger_checks
from citywitness.runtime import database_url
from citywitness.settings import Settings
from citywitness.worker import (
    build_worker,
    open_jobs,
    pool_size_for,
    run_worker,
    shutdown_signals,
    stop_worker,
)

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling (which re-raises the signal once it has
    shut down, killing the process before the worker and the database are stopped)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_server(settings: Settings) -> None:
    configure_logging(settings.logging.level, settings.logging.json_output)
    try:
        analysis_configured(settings.analysis)
    except AnalysisMisconfigured as exc:
        sys.stderr.write(f"startup error: {exc}\n")
        raise SystemExit(2) from exc
    with database_url(settings) as url:
        try:
            asyncio.run(_serve(settings, url))
        except MqttStartupError as exc:  # a setting to change, like a configuration error
            log.error("startup failed", extra={"reason": str(exc)})
            sys.stderr.write(f"startup error: {exc}\n")
            raise SystemExit(2) from exc


async def _serve(settings: Settings, url: str) -> None:
    db = Database(
        url, pool_size=settings.database.pool_size, max_overflow=settings.database.max_overflow
    )
    async with AsyncExitStack() as stack:
        stack.push_async_callback(db.dispose)
        mqtt = await start_mqtt(settings, db)  # MqttStartupError before anything else runs
        if mqtt is not None:
            stack.push_async_callback(mqtt.stop)
            stack.enter_context(publishing(mqtt.bridge))  # jobs here publish commands with it
        worker_task: asyncio.Task[None] | None = None
        if settings.jobs.in_process_worker:
            pool_size = pool_size_for(settings.jobs.concurrency)
            await stack.enter_async_context(open_jobs(url, pool_size=pool_size))
            worker = build_worker(settings, db, install_signal_handlers=False)
            worker_task = asyncio.create_task(run_worker(worker, settings, db), name="worker")
        readiness = Readiness()
        readiness.add("jobs", readiness_check(db, worker_task))
        if settings.alerts.consumers_enabled:
            alerts = start_alerts(
                settings.alerts,
                db,
                publisher=mqtt.bridge if mqtt is not None else None,
                consumers=[
                    geofences_consumer(settings.alerts.batch_size),
                    analysis_live_consumer(settings, settings.alerts.batch_size),
                ],
            )
            stack.push_async_callback(alerts.stop)
            readiness.add("alerts", alerts.readiness)
        readiness.add("storage", storage_readiness(settings, db))
        if mqtt is not None:
            readiness.add("mqtt", mqtt.readiness)
        add_ledger_checks(readiness, settings, db)
        server = _Server(_uvicorn_config(settings, create_app(settings, db, readiness)))

        def on_signal() -> None:
            if server.should_exit:  # the second signal: no more waiting
                server.force_exit = True
                if worker_task is not None:
                    worker_task.cancel()
            server.should_exit = True

        with shutdown_signals(on_signal):
            try:
                log.info("listening", extra={"url": settings.server.public_url})
                await server.serve()
            finally:
                if worker_task is not None:
                    await stop_worker(worker_task)


def _uvicorn_config(settings: Settings, app: FastAPI) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        proxy_headers=False,
        server_header=False,
    )
