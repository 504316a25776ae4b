"""FastAPI dependencies: the request's transaction, the caller, the auditor.

The request owns the transaction: `DbSession` opens one session per request and commits it
after the endpoint returns (before the response is sent); services only flush.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import Denied
from citywitness.access.principal import Principal
from citywitness.audit.service import Auditor
from citywitness.identity.principals import principal_from_session, principal_from_token
from citywitness.kit.db import Database
from citywitness.kit.errors import NotAuthenticated, PermissionDenied
from citywitness.kit.hashing import constant_time_equal, sha256_hex
from citywitness.settings import Settings

SESSION_COOKIE = "cw_session"
CSRF_COOKIE = "cw_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).transaction() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


def client_address(request: Request) -> str | None:
    peer = request.client.host if request.client else None
    trusted = get_settings(request).server.trusted_proxies
    forwarded = request.headers.get("x-forwarded-for")
    if peer is not None and peer in trusted and forwarded:
        return forwarded.split(",")[0].strip()[:64]
    return peer


class InvalidCredentials(NotAuthenticated, Denied):
    """The session or token is missing, expired or revoked."""

    code = "invalid_credentials"
    action = "auth.credentials"


class CsrfFailed(PermissionDenied, Denied):
    """Missing or wrong CSRF token (send the cw_csrf cookie's value in X-CSRF-Token)."""

    code = "csrf_failed"
    action = "auth.csrf"


async def optional_principal(request: Request, session: DbSession) -> Principal | None:
    """The caller, from `Authorization: Bearer` or the session cookie; None if anonymous."""
    settings = get_settings(request)
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise InvalidCredentials("use Authorization: Bearer <token>")
        principal = await principal_from_token(session, value.strip())
        if principal is None:
            raise InvalidCredentials("the API token is invalid, expired or revoked")
        request.state.principal = principal
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    found = await principal_from_session(session, cookie, settings.auth.session_idle_seconds)
    if found is None:
        raise InvalidCredentials("the session has expired; log in again")
    principal, console_session = found
    request.state.principal = principal
    if request.method not in SAFE_METHODS:
        header = request.headers.get(CSRF_HEADER, "")
        if not header or not constant_time_equal(sha256_hex(header), console_session.csrf_hash):
            raise CsrfFailed
    request.state.console_session_id = console_session.id
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def current_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise NotAuthenticated("log in or send an API token")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def get_auditor(
    request: Request, session: DbSession, principal: OptionalPrincipal
) -> Auditor:
    return Auditor(
        session=session,
        actor=principal,
        client_address=client_address(request),
        request_id=getattr(request.state, "request_id", None),
    )


AuditorDep = Annotated[Auditor, Depends(get_auditor)]


# Console WebSockets (/api/v1/ws/*): the same callers as the REST API.  Browsers cannot set
# headers on a WebSocket, so a token may also come as `access_token`; the session cookie is
# honoured only from the platform's own Origin, against cross-site WebSocket hijacking.


def websocket_origin_ok(websocket: WebSocket, settings: Settings) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: no ambient cookie to abuse
    own, theirs = urlsplit(settings.server.public_url), urlsplit(origin)
    return (own.scheme.replace("http", "ws"), own.netloc) == (
        theirs.scheme.replace("http", "ws"),
        theirs.netloc,
    )


async def websocket_principal(
    websocket: WebSocket, db: Database, settings: Settings
) -> Principal | None:
    """The caller of a console WebSocket (bearer, `access_token` or session cookie), or None."""
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else None
    token = token or websocket.query_params.get("access_token")
    async with db.transaction() as session:
        if token:
            return await principal_from_token(session, token)
        cookie = websocket.cookies.get(SESSION_COOKIE)
        if cookie is None or not websocket_origin_ok(websocket, settings):
            return None
        found = await principal_from_session(session, cookie, settings.auth.session_idle_seconds)
        return found[0] if found else None


async def until_closed(websocket: WebSocket) -> None:
    """Read (and drop) what a console sends until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
