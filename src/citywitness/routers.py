"""Every API router, in one list: app.py mounts them under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
