"""HTTP and WebSocket adapters of the devices domain (rules live in the services)."""

from __future__ import annotations

from fastapi import APIRouter

from citywitness.devices.endpoints.commands import device_router as commands_device_router
from citywitness.devices.endpoints.commands import router as commands_router
from citywitness.devices.endpoints.device import router as device_router
from citywitness.devices.endpoints.live import router as live_router
from citywitness.devices.endpoints.reading import router as reading_router
from citywitness.devices.endpoints.registry import router as registry_router

# The device-facing routes (/devices/enroll, /devices/self/...) go before /devices/{id}.
ROUTERS: list[APIRouter] = [device_router, commands_device_router, commands_router]
ROUTERS += [registry_router, reading_router, live_router]
