"""The one place that decides scope: permission checks, department and classification filters.

List endpoints filter in SQL with `visible_filter`; single objects go through
`ensure_visible` (404 when out of scope) and `ensure_permitted` (403 when visible but the
action is not allowed).  Nothing else in the code base filters by department.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from citywitness.access.errors import ActionForbidden, ObjectNotVisible
from citywitness.access.levels import Classification
from citywitness.access.models import Grant
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.kit.clock import utcnow


def require(principal: Principal, permission: Permission, *, action: str | None = None) -> None:
    """403 unless the caller holds `permission` in at least one department."""
    if not principal.has_anywhere(permission):
        err = ActionForbidden(f"missing permission {permission.value}")
        err.refusing(action or permission.value, None, None)
        raise err


def require_global(
    principal: Principal, permission: Permission, *, action: str | None = None
) -> None:
    """403 unless the caller holds `permission` in every department (a platform admin)."""
    if principal.departments_with(permission) is not None:
        err = ActionForbidden(f"{permission.value} must be held platform-wide")
        err.refusing(action or permission.value, None, None)
        raise err


def _grant_exists(
    principal: Principal, permission: Permission, object_type: str, id_column: Any
) -> ColumnElement[bool]:
    if not principal._allowed(permission):  # noqa: SLF001 - same package
        return false()
    dept_ids = list(principal.roles)
    grantee = Grant.grantee_user_id == principal.user_id
    if dept_ids:
        grantee = or_(grantee, Grant.grantee_department_id.in_(dept_ids))
    now = utcnow()
    return (
        select(Grant.id)
        .where(
            Grant.object_type == object_type,
            Grant.object_id == id_column,
            Grant.permission == permission.value,
            Grant.revoked_at.is_(None),
            or_(Grant.expires_at.is_(None), Grant.expires_at > now),
            grantee,
        )
        .exists()
    )


def visible_filter(
    principal: Principal,
    permission: Permission,
    *,
    department_column: InstrumentedAttribute[Any] | None,
    classification_column: InstrumentedAttribute[Any] | None = None,
    object_type: str | None = None,
    id_column: InstrumentedAttribute[Any] | None = None,
) -> ColumnElement[bool]:
    """A WHERE clause: rows the caller may see with `permission`.

    In scope means: the row's department is one where the caller holds the permission, or
    an unexpired grant names the caller (or one of their departments) for this object.
    The row's classification must also be within the caller's clearance.
    """
    depts = principal.departments_with(permission)
    if depts is None:
        in_scope: ColumnElement[bool] = true()
    elif department_column is None or not depts:
        in_scope = false()
    else:
        in_scope = department_column.in_(list(depts))
    if object_type is not None and id_column is not None and depts is not None:
        in_scope = or_(in_scope, _grant_exists(principal, permission, object_type, id_column))
    if classification_column is None:
        return in_scope
    return and_(in_scope, classification_column <= int(principal.clearance))


def ensure_visible(
    principal: Principal,
    permission: Permission,
    *,
    department_id: uuid.UUID | None,
    classification: Classification | int = Classification.PUBLIC,
    object_type: str,
    object_id: uuid.UUID | str,
    granted: bool = False,
) -> None:
    """404 unless the caller may see this object with `permission`.

    `granted` tells whether an explicit grant covers the object (see `has_grant`).
    """
    in_scope = granted or principal.has_in(permission, department_id)
    if not in_scope or int(classification) > int(principal.clearance):
        err = ObjectNotVisible(f"no such {object_type}")
        err.refusing(permission.value, object_type, str(object_id))
        raise err


def ensure_permitted(
    principal: Principal,
    permission: Permission,
    *,
    department_id: uuid.UUID | None,
    object_type: str,
    object_id: uuid.UUID | str,
    granted: bool = False,
) -> None:
    """403 unless the caller may do `permission` on an object they can already see."""
    if not (granted or principal.has_in(permission, department_id)):
        err = ActionForbidden(f"missing permission {permission.value}")
        err.refusing(permission.value, object_type, str(object_id))
        raise err


def grant_clause(
    principal: Principal, permission: Permission, object_type: str, object_id: uuid.UUID
) -> ColumnElement[bool]:
    """An EXISTS clause: an explicit, live grant of `permission` on this object."""
    return _grant_exists(principal, permission, object_type, object_id)


async def has_grant(
    session: AsyncSession,
    principal: Principal,
    permission: Permission,
    object_type: str,
    object_id: uuid.UUID,
) -> bool:
    """Whether a live grant of `permission` on this object names the caller or their department.

    Feed the answer to `ensure_visible(..., granted=...)` / `ensure_permitted(..., granted=...)`.
    """
    clause = grant_clause(principal, permission, object_type, object_id)
    return bool((await session.execute(select(clause))).scalar_one())


def ensure_visible_in_any(
    principal: Principal,
    permission: Permission,
    *,
    department_ids: Collection[uuid.UUID],
    object_type: str,
    object_id: uuid.UUID | str,
) -> None:
    """404 unless the caller holds `permission` in one of the object's departments.

    For objects that belong to several departments at once (a user with memberships in
    several); an object in no department is visible only to a platform admin.
    """
    depts = principal.departments_with(permission)
    if depts is not None and depts.isdisjoint(department_ids):
        err = ObjectNotVisible(f"no such {object_type}")
        err.refusing(permission.value, object_type, str(object_id))
        raise err


def ensure_permitted_in_all(
    principal: Principal,
    permission: Permission,
    *,
    department_ids: Collection[uuid.UUID],
    object_type: str,
    object_id: uuid.UUID | str,
) -> None:
    """403 unless the caller holds `permission` in every one of the object's departments.

    For changes that affect an object everywhere it belongs (disabling a user, resetting
    their password); an object in no department may be changed only by a platform admin.
    """
    depts = principal.departments_with(permission)
    if depts is not None and (not department_ids or not depts.issuperset(department_ids)):
        err = ActionForbidden(f"missing permission {permission.value}")
        err.refusing(permission.value, object_type, str(object_id))
        raise err
