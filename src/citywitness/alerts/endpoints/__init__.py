"""HTTP and WebSocket adapters of the alerts domain."""

from __future__ import annotations

from fastapi import APIRouter

from citywitness.alerts.endpoints.alerts import router as alerts_router
from citywitness.alerts.endpoints.live import router as live_router
from citywitness.alerts.endpoints.webhooks import router as webhooks_router

ROUTERS: list[APIRouter] = [webhooks_router, alerts_router, live_router]
