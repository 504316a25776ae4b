"""The one place that decides scope: permission checks, department and classification filters.

List endpoints filter in SQL with `visible_filter` (or `visible_parts`, the same scope
as disjoint parts a query can run as ordered branches); single objects go through
`ensure_visible` (404 when out of scope) and `ensure_permitted` (403 when visible but the
action is not allowed).  Nothing else in the code base filters by department.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Uuid, and_, any_, cast, false, func, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
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


def _live_grants(
    principal: Principal, permission: Permission, object_type: str
) -> list[ColumnElement[bool]]:
    """Conditions on `grants`: live grants of `permission` on `object_type` to the caller."""
    dept_ids = list(principal.roles)
    grantee = Grant.grantee_user_id == principal.user_id
    if dept_ids:
        grantee = or_(grantee, Grant.grantee_department_id.in_(dept_ids))
    now = utcnow()
    return [
        Grant.object_type == object_type,
        Grant.permission == permission.value,
        Grant.revoked_at.is_(None),
        or_(Grant.expires_at.is_(None), Grant.expires_at > now),
        grantee,
    ]


def _grant_exists(
    principal: Principal, permission: Permission, object_type: str, id_column: Any
) -> ColumnElement[bool]:
    if not principal._allowed(permission):  # noqa: SLF001 - same package
        return false()
    conditions = _live_grants(principal, permission, object_type)
    return select(Grant.id).where(Grant.object_id == id_column, *conditions).exists()


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


def visible_parts(
    principal: Principal,
    permission: Permission,
    *,
    department_column: InstrumentedAttribute[Any],
    classification_column: InstrumentedAttribute[Any],
    object_type: str,
    id_column: InstrumentedAttribute[Any],
) -> list[ColumnElement[bool]]:
    """`visible_filter` split into disjoint WHERE clauses whose OR is exactly that filter.

    One part per department where the caller holds `permission` (or a single part for a
    platform-wide holder), and one for objects of other departments granted to the caller
    (`id = ANY(array of granted ids)`); each within clearance.  No part: nothing is
    visible.  A list query can run each part on a department-leading index, in order, and
    merge the pages, where the OR of `visible_filter` makes PostgreSQL read every
    department's rows.
    """
    clearance = classification_column <= int(principal.clearance)
    depts = principal.departments_with(permission)
    if depts is None:
        return [clearance]
    parts = [and_(department_column == dept, clearance) for dept in sorted(depts)]
    if principal._allowed(permission):  # noqa: SLF001 - same package
        granted_ids = (
            select(func.array_agg(Grant.object_id))
            .where(*_live_grants(principal, permission, object_type))
            .scalar_subquery()
        )
        # An array (computed once), not `IN (subquery)`: the planner then reads the granted
        # items by id instead of scanning matches of the filters for a join.
        granted: ColumnElement[bool] = id_column == any_(cast(granted_ids, ARRAY(Uuid)))
        if depts:
            others = or_(department_column.is_(None), department_column.not_in(sorted(depts)))
            granted = and_(granted, others)
        parts.append(and_(granted, clearance))
    return parts


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


class InDepartment(Protocol):
    """An object that belongs to one department (or none: platform-wide)."""

    @property
    def department_id(self) -> uuid.UUID | None: ...


Owned = TypeVar("Owned", bound=InDepartment)


def visible_or_404(
    found: Owned | None,
    principal: Principal,
    permission: Permission,
    *,
    object_type: str,
    object_id: uuid.UUID | str,
) -> Owned:
    """`found` when the caller may see it with `permission` in its department.

    A missing object and one outside the caller's scope give the same 404, as
    `ensure_visible` does: the answer never tells which.
    """
    if found is None:
        err = ObjectNotVisible(f"no such {object_type}")
        err.refusing(permission.value, object_type, str(object_id))
        raise err
    ensure_visible(
        principal,
        permission,
        department_id=found.department_id,
        object_type=object_type,
        object_id=object_id,
    )
    return found


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
