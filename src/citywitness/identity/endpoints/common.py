"""Shared by the identity endpoints: error documentation, cookies, a request's auditor."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.principal import Principal
from citywitness.api.deps import CSRF_COOKIE, SESSION_COOKIE, client_address
from citywitness.audit.service import Auditor
from citywitness.identity.sessions import StartedSession
from citywitness.kit.web import error_responses
from citywitness.settings import AuthSettings


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries (the shared error body) for these error statuses."""
    return error_responses(*statuses)


AUTHENTICATED = (401, 403)
"""Any endpoint with a caller: no or bad credentials (401), CSRF failure or denial (403)."""
WITH_BODY = (400, 413, 422)
"""Any endpoint with a JSON body: malformed (400), too large (413), invalid (422)."""


def auditor_for(request: Request, session: AsyncSession, actor: Principal | None) -> Auditor:
    """An auditor writing into `session` (a transaction of the endpoint's own)."""
    return Auditor(
        session=session,
        actor=actor,
        client_address=client_address(request),
        request_id=getattr(request.state, "request_id", None),
    )


def set_session_cookies(response: Response, started: StartedSession, auth: AuthSettings) -> None:
    """cw_session: HttpOnly; cw_csrf: readable by the console's JS.  Both SameSite=Strict."""
    for name, value, http_only in (
        (SESSION_COOKIE, started.session_token, True),
        (CSRF_COOKIE, started.csrf_token, False),
    ):
        response.set_cookie(
            name,
            value,
            max_age=auth.session_ttl_seconds,
            path="/",
            secure=auth.cookie_secure,
            httponly=http_only,
            samesite="strict",
        )


def clear_session_cookies(response: Response, auth: AuthSettings) -> None:
    for name, http_only in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(
            name, path="/", secure=auth.cookie_secure, httponly=http_only, samesite="strict"
        )
