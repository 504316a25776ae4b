"""Password login, logout and "who am I"."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from citywitness.access.permissions import permissions_for
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep, get_database
from citywitness.audit.service import Auditor, Outcome
from citywitness.identity.endpoints.common import (
    AUTHENTICATED,
    WITH_BODY,
    auditor_for,
    clear_session_cookies,
    errors,
    set_session_cookies,
)
from citywitness.identity.errors import LoginFailed
from citywitness.identity.models import Membership, User
from citywitness.identity.policy import USER
from citywitness.identity.schemas import DepartmentAccess, LoginIn, LoginOut, MeOut, UserOut
from citywitness.identity.service import LoginAttempt, attempt_login, memberships_of
from citywitness.identity.sessions import StartedSession, end_session, start_session
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import NotAuthenticated

router = APIRouter(tags=["auth"])


async def audit_login(
    auditor: Auditor, attempt: LoginAttempt, started: StartedSession | None
) -> None:
    """auth.login (success or failure with its reason) and, if this attempt locked the
    account, auth.lockout.  Never a password."""
    user = attempt.user
    if attempt.failure is None and user is not None and started is not None:
        await auditor.record(
            "auth.login",
            object_type=USER,
            object_id=user.id,
            actor_user_id=user.id,
            details={"method": "password", "session_id": str(started.console_session.id)},
        )
        return
    details: dict[str, object] = {
        "method": "password",
        "username": attempt.username,
        "reason": attempt.failure.value if attempt.failure else "unknown",
    }
    if user is not None:
        details["failed_logins"] = attempt.failed_logins
    await auditor.record(
        "auth.login",
        outcome=Outcome.FAILURE,
        object_type=USER,
        object_id=user.id if user else None,
        details=details,
    )
    if attempt.locked_now and user is not None and attempt.locked_until is not None:
        await auditor.record(
            "auth.lockout",
            object_type=USER,
            object_id=user.id,
            details={
                "failed_logins": attempt.failed_logins,
                "locked_until": attempt.locked_until.isoformat(),
            },
        )


@router.post(
    "/auth/login",
    summary="Log in with username and password; sets the session and CSRF cookies.",
    response_model=LoginOut,
    responses=errors(*WITH_BODY, 401, 429),
)
async def login(
    body: LoginIn, request: Request, response: Response, settings: SettingsDep
) -> LoginOut:
    # The attempt is recorded in a transaction of its own that commits even when the login
    # fails: the failure counter and the audit event must outlive the error response.
    now = utcnow()
    async with get_database(request).transaction() as session:
        attempt = await attempt_login(
            session, username=body.username, password=body.password, auth=settings.auth, now=now
        )
        auditor = auditor_for(request, session, None)
        started: StartedSession | None = None
        memberships: list[Membership] = []
        if attempt.failure is None and attempt.user is not None:
            started = await start_session(
                session,
                user=attempt.user,
                auth_method="password",
                client_address=auditor.client_address,
                settings=settings.auth,
                now=now,
            )
            memberships = await memberships_of(session, attempt.user.id)
        await audit_login(auditor, attempt, started)
    user = attempt.user_or_raise(now)
    if started is None:  # cannot happen: a successful attempt always starts a session
        raise LoginFailed
    set_session_cookies(response, started, settings.auth)
    return LoginOut(
        user=UserOut.of(user, memberships),
        csrf_token=started.csrf_token,
        expires_at=started.console_session.expires_at,
    )


@router.post(
    "/auth/logout",
    summary="End the console session and clear its cookies (no-op for API tokens).",
    status_code=204,
    response_class=Response,
    responses=errors(*AUTHENTICATED),
)
async def logout(
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> Response:
    console_session_id = getattr(request.state, "console_session_id", None)
    if console_session_id is not None:
        await end_session(session, console_session_id=console_session_id)
        await auditor.record(
            "auth.logout",
            object_type="console_session",
            object_id=console_session_id,
            details={"user_id": str(principal.user_id)},
        )
    response = Response(status_code=204)
    clear_session_cookies(response, settings.auth)
    return response


@router.get(
    "/auth/me",
    summary="The caller: account, memberships, permissions and how they authenticated.",
    response_model=MeOut,
    responses=errors(401),
)
async def me(principal: CurrentPrincipal, session: DbSession) -> MeOut:
    user = await session.get(User, principal.user_id)
    if user is None:  # deleted since the credentials were checked
        raise NotAuthenticated
    memberships = await memberships_of(session, user.id)
    departments = [
        DepartmentAccess(
            department_id=dept,
            roles=sorted(roles),
            permissions=sorted(
                {p for role in roles for p in permissions_for(role) if principal.has_in(p, dept)}
            ),
        )
        for dept, roles in sorted(principal.roles.items(), key=lambda kv: str(kv[0]))
    ]
    return MeOut(
        user=UserOut.of(user, memberships),
        auth_method=principal.auth_method,
        permissions=sorted(principal.all_permissions()),
        departments=departments,
        scopes=sorted(principal.scopes) if principal.scopes is not None else None,
        platform_admin=principal.is_platform_admin,
    )
