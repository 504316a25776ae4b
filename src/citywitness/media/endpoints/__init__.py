"""HTTP adapters of the media domain: the recorder side and the console side."""

from __future__ import annotations

from fastapi import APIRouter

from citywitness.media.endpoints.console import router as console_router
from citywitness.media.endpoints.device import router as device_router

ROUTERS: list[APIRouter] = [device_router, console_router]
