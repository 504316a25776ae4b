"""Users administration: list, create, read, disable, enable, reset password, memberships.

The rules (who sees and manages whom) live in `identity.policy`; every call is audited.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import Permission
from citywitness.access.service import ensure_visible, require
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.identity import policy
from citywitness.identity.endpoints.common import AUTHENTICATED, WITH_BODY, errors
from citywitness.identity.errors import CannotDisableSelf
from citywitness.identity.schemas import (
    MembershipIn,
    MembershipOut,
    PasswordIn,
    UserCreateIn,
    UserOut,
    UserPage,
)
from citywitness.identity.service import (
    add_membership,
    create_user,
    disable_user,
    enable_user,
    remove_membership,
    set_password,
)

router = APIRouter(tags=["users"])

USER = policy.USER
MANAGE = Permission.USERS_MANAGE


@router.get(
    "/users",
    summary="Users with a membership where you hold users:read, by username (keyset pages).",
    response_model=UserPage,
    responses=errors(*AUTHENTICATED, 400, 422),
)
async def list_users(
    principal: CurrentPrincipal,
    session: DbSession,
    auditor: AuditorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> UserPage:
    views, next_cursor = await policy.list_visible_users(
        session, principal, cursor=cursor, limit=limit
    )
    await auditor.record(
        "users.list", object_type=USER, details={"count": len(views), "cursor": cursor}
    )
    return UserPage(
        items=[UserOut.of(v.user, v.memberships) for v in views], next_cursor=next_cursor
    )


@router.post(
    "/users",
    summary="Create a user with roles in departments where you hold users:manage.",
    status_code=201,
    response_model=UserOut,
    responses=errors(*AUTHENTICATED, *WITH_BODY, 409),
)
async def post_user(
    body: UserCreateIn,
    principal: CurrentPrincipal,
    session: DbSession,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> UserOut:
    action = "users.create"
    require(principal, MANAGE, action=action)
    clearance = Classification.parse(body.clearance)
    policy.ensure_can_give_clearance(principal, clearance, username=body.username, action=action)
    for wanted in body.memberships:
        policy.ensure_can_grant(
            principal, department_id=wanted.department_id, role=wanted.role, action=action
        )
    user = await create_user(
        session,
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        clearance=clearance,
        email=body.email,
        min_length=settings.auth.password_min_length,
    )
    for wanted in body.memberships:
        await add_membership(
            session, user_id=user.id, department_id=wanted.department_id, role=wanted.role
        )
    await auditor.record(
        action,
        object_type=USER,
        object_id=user.id,
        department_id=body.memberships[0].department_id,
        details={
            "username": user.username,
            "clearance": body.clearance,
            "memberships": [
                {"department_id": str(m.department_id), "role": m.role.value}
                for m in body.memberships
            ],
            "password_set": body.password is not None,
        },
    )
    view = await policy.view_of(session, principal, user)
    return UserOut.of(view.user, view.memberships)


@router.get(
    "/users/{user_id}",
    summary="One user, if they have a membership where you hold users:read.",
    response_model=UserOut,
    responses=errors(*AUTHENTICATED, 404, 422),
)
async def get_user(
    user_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, auditor: AuditorDep
) -> UserOut:
    user, _ = await policy.visible_user(session, principal, user_id, action="users.read")
    await auditor.record("users.read", object_type=USER, object_id=user.id)
    view = await policy.view_of(session, principal, user)
    return UserOut.of(view.user, view.memberships)


@router.post(
    "/users/{user_id}/disable",
    summary="Disable an account; its console sessions and API tokens are revoked.",
    response_model=UserOut,
    responses=errors(*AUTHENTICATED, 404, 409, 422),
)
async def post_disable(
    user_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, auditor: AuditorDep
) -> UserOut:
    action = "users.disable"
    user, memberships = await policy.visible_user(
        session, principal, user_id, action=action, permission=MANAGE
    )
    policy.ensure_can_manage(principal, user, memberships, action=action)
    if user.id == principal.user_id:
        raise CannotDisableSelf
    await disable_user(session, user=user)
    await auditor.record(action, object_type=USER, object_id=user.id)
    view = await policy.view_of(session, principal, user)
    return UserOut.of(view.user, view.memberships)


@router.post(
    "/users/{user_id}/enable",
    summary="Enable a disabled or locked-out account again.",
    response_model=UserOut,
    responses=errors(*AUTHENTICATED, 404, 422),
)
async def post_enable(
    user_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, auditor: AuditorDep
) -> UserOut:
    action = "users.enable"
    user, memberships = await policy.visible_user(
        session, principal, user_id, action=action, permission=MANAGE
    )
    policy.ensure_can_manage(principal, user, memberships, action=action)
    await enable_user(session, user=user)
    await auditor.record(action, object_type=USER, object_id=user.id)
    view = await policy.view_of(session, principal, user)
    return UserOut.of(view.user, view.memberships)


@router.post(
    "/users/{user_id}/password",
    summary="Set a new password for a user (admin reset); their console sessions end.",
    status_code=204,
    response_class=Response,
    responses=errors(*AUTHENTICATED, *WITH_BODY, 404),
)
async def post_password(
    user_id: uuid.UUID,
    body: PasswordIn,
    *,
    principal: CurrentPrincipal,
    session: DbSession,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> Response:
    action = "users.password.reset"
    user, memberships = await policy.visible_user(
        session, principal, user_id, action=action, permission=MANAGE
    )
    policy.ensure_can_manage(principal, user, memberships, action=action)
    await set_password(
        session, user=user, password=body.password, min_length=settings.auth.password_min_length
    )
    await auditor.record(action, object_type=USER, object_id=user.id)
    return Response(status_code=204)


@router.post(
    "/users/{user_id}/memberships",
    summary="Give a user a role in a department where you hold users:manage.",
    status_code=201,
    response_model=MembershipOut,
    responses=errors(*AUTHENTICATED, *WITH_BODY, 404),
)
async def post_membership(
    user_id: uuid.UUID,
    body: MembershipIn,
    principal: CurrentPrincipal,
    session: DbSession,
    auditor: AuditorDep,
) -> MembershipOut:
    action = "users.memberships.add"
    user, _ = await policy.visible_user(
        session, principal, user_id, action=action, permission=MANAGE
    )
    policy.ensure_can_grant(
        principal, department_id=body.department_id, role=body.role, action=action
    )
    membership = await add_membership(
        session, user_id=user.id, department_id=body.department_id, role=body.role
    )
    await auditor.record(
        action,
        object_type=USER,
        object_id=user.id,
        department_id=body.department_id,
        details={"membership_id": str(membership.id), "role": body.role.value},
    )
    return MembershipOut.of(membership)


@router.delete(
    "/users/{user_id}/memberships/{membership_id}",
    summary="Take a role away from a user, in a department where you hold users:manage.",
    status_code=204,
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404, 422),
)
async def delete_membership(
    user_id: uuid.UUID,
    membership_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    auditor: AuditorDep,
) -> Response:
    action = "users.memberships.remove"
    user, memberships = await policy.visible_user(
        session, principal, user_id, action=action, permission=MANAGE
    )
    membership = next((m for m in memberships if m.id == membership_id), None)
    if membership is None:
        err = ObjectNotVisible("no such membership")
        err.refusing(action, "membership", str(membership_id))
        raise err
    ensure_visible(
        principal,
        Permission.USERS_READ,
        department_id=membership.department_id,
        object_type="membership",
        object_id=membership_id,
    )
    policy.ensure_can_grant(
        principal, department_id=membership.department_id, role=Role(membership.role), action=action
    )
    await remove_membership(session, membership=membership)
    await auditor.record(
        action,
        object_type=USER,
        object_id=user.id,
        department_id=membership.department_id,
        details={"membership_id": str(membership_id), "role": membership.role},
    )
    return Response(status_code=204)
