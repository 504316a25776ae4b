"""OpenID Connect login: provider list, redirect to the provider, and its callback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from citywitness.api.deps import DbSession, SettingsDep, get_database
from citywitness.audit.service import Outcome
from citywitness.identity import oidc
from citywitness.identity.endpoints.common import auditor_for, errors, set_session_cookies
from citywitness.identity.errors import (
    OIDC_LOGIN_ERRORS,
    InvalidReturnTo,
    OidcLoginRefused,
    OidcProviderUnknown,
    OidcStateInvalid,
)
from citywitness.identity.models import OidcLoginState
from citywitness.identity.policy import USER
from citywitness.identity.schemas import ProviderOut
from citywitness.identity.sessions import StartedSession, start_session
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import AppError
from citywitness.kit.hashing import constant_time_equal
from citywitness.settings import OidcProviderSettings, Settings

router = APIRouter(tags=["auth"])

CALLBACK_ROUTE = "oidc_callback"
STATE_COOKIE = "cw_oidc_state"


def _provider(settings: Settings, name: str) -> OidcProviderSettings:
    for provider in settings.auth.oidc_providers:
        if provider.name == name:
            return provider
    err = OidcProviderUnknown(f"no identity provider named {name!r}")
    err.refusing("auth.oidc", "oidc_provider", name[:80])
    raise err


def _callback_path(request: Request, name: str) -> str:
    return str(request.app.url_path_for(CALLBACK_ROUTE, provider=name))


def _redirect_uri(request: Request, settings: Settings, name: str) -> str:
    return settings.server.public_url.rstrip("/") + _callback_path(request, name)


async def _audit_failure(request: Request, name: str, exc: AppError) -> None:
    """A failed OIDC login, recorded in its own transaction (the request's is gone)."""
    async with get_database(request).transaction() as session:
        await auditor_for(request, session, None).record(
            "auth.login",
            outcome=Outcome.FAILURE,
            object_type=USER,
            details={"method": f"oidc:{name}", "reason": exc.code, "detail": str(exc.detail)},
        )


@router.get(
    "/auth/oidc/providers",
    summary="The identity providers offered on the login page.",
    response_model=list[ProviderOut],
)
async def providers(settings: SettingsDep) -> list[ProviderOut]:
    return [ProviderOut(name=p.name, label=p.label or p.name) for p in settings.auth.oidc_providers]


@router.get(
    "/auth/oidc/{provider}/login",
    summary="Start an OIDC login: redirects to the provider (state, nonce, PKCE S256).",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "To the provider."}, **errors(404, 422, 502)},
)
async def oidc_login(
    provider: str,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    return_to: Annotated[str | None, Query(max_length=500)] = None,
) -> RedirectResponse:
    chosen = _provider(settings, provider)
    try:
        target = oidc.safe_return_to(return_to)
        meta = await oidc.DIRECTORY.metadata(chosen)
    except (InvalidReturnTo, *OIDC_LOGIN_ERRORS) as exc:
        await _audit_failure(request, chosen.name, exc)
        raise
    url, state = await oidc.begin_login(
        session,
        provider=chosen,
        meta=meta,
        redirect_uri=_redirect_uri(request, settings, chosen.name),
        return_to=target,
        now=utcnow(),
    )
    response = RedirectResponse(url, status_code=302)
    # SameSite=Lax: the provider's redirect back is a cross-site top-level navigation.
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=int(oidc.STATE_TTL.total_seconds()),
        path=_callback_path(request, chosen.name),
        secure=settings.auth.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


async def _verified_login(
    request: Request,
    settings: Settings,
    provider: OidcProviderSettings,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
) -> tuple[OidcLoginState, oidc.ExternalIdentity]:
    now = utcnow()
    bound = request.cookies.get(STATE_COOKIE, "")
    if not state or not bound or not constant_time_equal(bound, state):
        raise OidcStateInvalid("this login was not started in this browser")
    # Consumed in a transaction of its own: a state is spent even if the login then fails.
    async with get_database(request).transaction() as session:
        login = await oidc.consume_state(session, provider_name=provider.name, state=state, now=now)
    if error is not None:
        raise OidcLoginRefused(f"the identity provider answered {error[:100]!r}")
    if not code:
        raise OidcStateInvalid("the callback carries no code")
    meta = await oidc.DIRECTORY.metadata(provider)
    identity = await oidc.exchange_code(
        provider,
        meta,
        code=code,
        login=login,
        redirect_uri=_redirect_uri(request, settings, provider.name),
        now=now,
    )
    return login, identity


async def _log_in(
    request: Request,
    settings: Settings,
    provider: OidcProviderSettings,
    identity: oidc.ExternalIdentity,
) -> StartedSession:
    """The linked (or new) user gets a console session; audited as a successful login."""
    now = utcnow()
    method = f"oidc:{provider.name}"
    async with get_database(request).transaction() as session:
        user, created = await oidc.resolve_user(
            session, provider=provider, identity=identity, now=now
        )
        auditor = auditor_for(request, session, None)
        started = await start_session(
            session,
            user=user,
            auth_method=method,
            client_address=auditor.client_address,
            settings=settings.auth,
            now=now,
        )
        await auditor.record(
            "auth.login",
            object_type=USER,
            object_id=user.id,
            actor_user_id=user.id,
            details={
                "method": method,
                "session_id": str(started.console_session.id),
                "user_created": created,
            },
        )
    return started


@router.get(
    "/auth/oidc/{provider}/callback",
    name=CALLBACK_ROUTE,
    summary="The provider's redirect back: validates, logs in, redirects to return_to.",
    response_class=RedirectResponse,
    status_code=302,
    responses={
        302: {"description": "Logged in; cookies set; to return_to."},
        **errors(400, 401, 403, 404, 409, 422, 502),
    },
)
async def oidc_callback(
    provider: str,
    request: Request,
    settings: SettingsDep,
    *,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=128)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> RedirectResponse:
    chosen = _provider(settings, provider)
    try:
        login, identity = await _verified_login(
            request, settings, chosen, code=code, state=state, error=error
        )
        started = await _log_in(request, settings, chosen, identity)
    except OIDC_LOGIN_ERRORS as exc:
        await _audit_failure(request, chosen.name, exc)
        raise
    response = RedirectResponse(login.return_to, status_code=302)
    set_session_cookies(response, started, settings.auth)
    response.delete_cookie(
        STATE_COOKIE,
        path=_callback_path(request, chosen.name),
        secure=settings.auth.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response
