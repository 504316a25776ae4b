"""Who may see and manage which users: the users-admin rules, on top of `access.service`.

A user belongs to the departments they hold memberships in.  You see a user if you hold
users:read in one of them (a platform admin sees everyone), and only the memberships in
departments where you hold users:read.  Changing the account as a whole (disable, enable,
password reset) needs users:manage in every one of their departments, a clearance at
least theirs, and, for a platform admin's account, being a platform admin yourself.
Granting or removing a role needs users:manage in that role's department; the
platform_admin role only a platform admin may grant or remove.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ActionForbidden, ObjectNotVisible
from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import (
    ensure_permitted,
    ensure_permitted_in_all,
    ensure_visible_in_any,
    require,
    visible_filter,
)
from citywitness.identity.errors import ClearanceAboveOwn, PlatformAdminRequired
from citywitness.identity.models import Membership, User
from citywitness.kit.cursor import decode_cursor, encode_cursor

USER = "user"


@dataclass(frozen=True)
class UserView:
    """A user as one caller may see them: only the memberships in their scope."""

    user: User
    memberships: list[Membership]


def _refuse(err: ActionForbidden, action: str, object_type: str, object_id: object) -> None:
    err.refusing(action, object_type, str(object_id))
    raise err


def visible_memberships(principal: Principal) -> ColumnElement[bool]:
    return visible_filter(
        principal, Permission.USERS_READ, department_column=Membership.department_id
    )


async def _all_memberships(session: AsyncSession, user_id: uuid.UUID) -> list[Membership]:
    rows = await session.scalars(select(Membership).where(Membership.user_id == user_id))
    return list(rows)


async def view_of(session: AsyncSession, principal: Principal, user: User) -> UserView:
    """The user with the memberships the caller may see."""
    rows = await session.scalars(
        select(Membership)
        .where(Membership.user_id == user.id, visible_memberships(principal))
        .order_by(Membership.department_id, Membership.role)
    )
    return UserView(user, list(rows))


async def visible_user(
    session: AsyncSession,
    principal: Principal,
    user_id: uuid.UUID,
    *,
    action: str,
    permission: Permission = Permission.USERS_READ,
) -> tuple[User, list[Membership]]:
    """The user and all their memberships: 403 without `permission` anywhere, 404 if the
    user is out of the caller's users:read scope."""
    require(principal, permission, action=action)
    user = await session.get(User, user_id)
    if user is None:
        err = ObjectNotVisible(f"no such {USER}")
        err.refusing(action, USER, str(user_id))
        raise err
    memberships = await _all_memberships(session, user_id)
    ensure_visible_in_any(
        principal,
        Permission.USERS_READ,
        department_ids={m.department_id for m in memberships},
        object_type=USER,
        object_id=user_id,
    )
    return user, memberships


def ensure_can_manage(
    principal: Principal, user: User, memberships: list[Membership], *, action: str
) -> None:
    """403 unless the caller may change this account as a whole."""
    ensure_permitted_in_all(
        principal,
        Permission.USERS_MANAGE,
        department_ids={m.department_id for m in memberships},
        object_type=USER,
        object_id=user.id,
    )
    if not principal.is_platform_admin and any(
        m.role == Role.PLATFORM_ADMIN.value for m in memberships
    ):
        _refuse(PlatformAdminRequired(), action, USER, user.id)
    if user.clearance > int(principal.clearance):
        _refuse(ClearanceAboveOwn(), action, USER, user.id)


def ensure_can_grant(
    principal: Principal, *, department_id: uuid.UUID, role: Role, action: str
) -> None:
    """403 unless the caller may grant (or remove) `role` in the department."""
    ensure_permitted(
        principal,
        Permission.USERS_MANAGE,
        department_id=department_id,
        object_type="department",
        object_id=department_id,
    )
    if role is Role.PLATFORM_ADMIN and not principal.is_platform_admin:
        _refuse(PlatformAdminRequired(), action, "department", department_id)


def ensure_can_give_clearance(
    principal: Principal, clearance: Classification, *, username: str, action: str
) -> None:
    """403 when the clearance is above the caller's own."""
    if int(clearance) > int(principal.clearance):
        _refuse(ClearanceAboveOwn(), action, USER, username)


async def list_visible_users(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[UserView], str | None]:
    """One page of the users the caller may see, by username; and the next page's cursor."""
    require(principal, Permission.USERS_READ, action="users.list")
    in_scope = or_(
        # true() for a platform admin (users with no membership included), else false()
        visible_filter(principal, Permission.USERS_READ, department_column=None),
        select(Membership.id)
        .where(Membership.user_id == User.id, visible_memberships(principal))
        .exists(),
    )
    query = select(User).where(in_scope).order_by(User.username).limit(limit + 1)
    if cursor is not None:
        [last_username] = decode_cursor(cursor, 1)
        query = query.where(User.username > last_username)
    users = list(await session.scalars(query))
    more = len(users) > limit
    users = users[:limit]
    by_user: dict[uuid.UUID, list[Membership]] = {u.id: [] for u in users}
    if users:
        rows = await session.scalars(
            select(Membership)
            .where(Membership.user_id.in_(list(by_user)), visible_memberships(principal))
            .order_by(Membership.department_id, Membership.role)
        )
        for membership in rows:
            by_user[membership.user_id].append(membership)
    next_cursor = encode_cursor([users[-1].username]) if more else None
    return [UserView(u, by_user[u.id]) for u in users], next_cursor
