"""Shared helpers of the identity tests."""

from __future__ import annotations

import uuid
from http.cookies import Morsel, SimpleCookie
from typing import Any

import httpx
from sqlalchemy import select

from citywitness.access.levels import Classification, Role
from citywitness.audit.models import AuditEvent
from citywitness.identity.models import User
from citywitness.kit.db import Database
from tests.factories import PASSWORD, make_user


async def committed_user(
    db: Database,
    *,
    roles: dict[uuid.UUID, list[Role]] | None = None,
    clearance: Classification = Classification.SECRET,
    username: str | None = None,
) -> User:
    """A user (password `PASSWORD`) committed into the test's transaction."""
    async with db.transaction() as session:
        return await make_user(session, roles=roles, clearance=clearance, username=username)


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )


def set_cookies(response: httpx.Response) -> dict[str, Morsel[str]]:
    """The Set-Cookie headers of a response, parsed."""
    found: dict[str, Morsel[str]] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        found.update(jar)
    return found


def session_headers(response: httpx.Response, *, csrf: bool = True) -> dict[str, str]:
    """Headers for a request made with the cookies a login response set."""
    cookies = set_cookies(response)
    headers = {
        "Cookie": f"cw_session={cookies['cw_session'].value}; cw_csrf={cookies['cw_csrf'].value}"
    }
    if csrf:
        headers["X-CSRF-Token"] = cookies["cw_csrf"].value
    return headers


async def audit_rows(db: Database, action: str) -> list[AuditEvent]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows)


def audit_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "actor_user_id": event.actor_user_id,
        "actor_kind": event.actor_kind,
        "department_id": event.department_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "client_address": event.client_address,
        "request_id": event.request_id,
        "reason": event.reason,
        "details": event.details,
    }
