"""Granting, listing and revoking access to one object beyond the department scope.

Who may grant: whoever holds grants:manage in the department that owns the object (found
through the object-type registry).  Who may even learn the object exists: whoever could
read it (its type's read permission, in its department or by a grant); everyone else gets
404.  A grant names one user or one department, one permission from the type's grantable
set, a reason, and optionally an expiry.  Revoking sets `revoked_at`; grants are never
deleted.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access import registry
from citywitness.access.errors import (
    ExpiryInPast,
    GrantAlreadyRevoked,
    ObjectNotVisible,
    PermissionNotGrantable,
    UnknownGrantee,
    UnknownObjectType,
)
from citywitness.access.models import Grant
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.registry import GrantChange, ObjectType, Owner
from citywitness.access.schemas import GrantCreate
from citywitness.access.service import ensure_permitted, ensure_visible, has_grant
from citywitness.access.trail import AuditTrail
from citywitness.kit.clock import utcnow

GRANT = "grant"


def is_active(grant: Grant, now: datetime) -> bool:
    return grant.revoked_at is None and (grant.expires_at is None or grant.expires_at > now)


def _entry(name: str) -> ObjectType:
    entry = registry.object_type(name)
    if entry is None:
        known = ", ".join(registry.object_type_names())
        raise UnknownObjectType(fields={"object_type": f"not one of: {known}"})
    return entry


async def _managed_owner(
    session: AsyncSession, principal: Principal, entry: ObjectType, object_id: uuid.UUID
) -> Owner:
    """The object's owner, after checking the caller may see it and manage its grants."""
    owner = await entry.resolver(session, object_id)
    if owner is None:
        err = ObjectNotVisible(f"no such {entry.name}")
        err.refusing(Permission.GRANTS_MANAGE.value, entry.name, str(object_id))
        raise err
    granted = not principal.has_in(entry.read_permission, owner.department_id) and (
        await has_grant(session, principal, entry.read_permission, entry.name, object_id)
    )
    ensure_visible(
        principal,
        entry.read_permission,
        department_id=owner.department_id,
        classification=owner.classification,
        object_type=entry.name,
        object_id=object_id,
        granted=granted,
    )
    ensure_permitted(
        principal,
        Permission.GRANTS_MANAGE,
        department_id=owner.department_id,
        object_type=entry.name,
        object_id=object_id,
    )
    return owner


async def create_grant(
    session: AsyncSession, principal: Principal, trail: AuditTrail, data: GrantCreate
) -> Grant:
    entry = _entry(data.object_type)
    owner = await _managed_owner(session, principal, entry, data.object_id)
    if data.permission not in entry.grantable:
        allowed = ", ".join(sorted(p.value for p in entry.grantable))
        raise PermissionNotGrantable(fields={"permission": f"not one of: {allowed}"})
    if data.expires_at is not None and data.expires_at <= utcnow():
        raise ExpiryInPast(fields={"expires_at": "must be in the future"})
    grant = Grant(
        id=uuid.uuid4(),
        object_type=entry.name,
        object_id=data.object_id,
        permission=data.permission.value,
        grantee_user_id=data.grantee_user_id,
        grantee_department_id=data.grantee_department_id,
        granted_by=principal.user_id,
        reason=data.reason.strip(),
        expires_at=data.expires_at,
    )
    try:
        async with session.begin_nested():
            session.add(grant)
            await session.flush()
    except IntegrityError as exc:
        field = "grantee_user_id" if data.grantee_user_id else "grantee_department_id"
        raise UnknownGrantee(fields={field: "no such grantee"}) from exc
    await session.refresh(grant)
    await trail.record(
        "grants.create",
        object_type=GRANT,
        object_id=grant.id,
        department_id=owner.department_id,
        reason=grant.reason,
        details=_details(grant),
    )
    if entry.on_grant is not None:
        await entry.on_grant(session, trail, GrantChange("granted", grant, owner))
    return grant


async def list_grants(
    session: AsyncSession,
    principal: Principal,
    trail: AuditTrail,
    *,
    object_type: str,
    object_id: uuid.UUID,
) -> list[Grant]:
    """Every grant on the object, revoked and expired ones included, newest first."""
    entry = _entry(object_type)
    owner = await _managed_owner(session, principal, entry, object_id)
    rows = await session.scalars(
        select(Grant)
        .where(Grant.object_type == entry.name, Grant.object_id == object_id)
        .order_by(Grant.created_at.desc(), Grant.id)
    )
    grants = list(rows)
    await trail.record(
        "grants.list",
        object_type=entry.name,
        object_id=object_id,
        department_id=owner.department_id,
        details={"count": len(grants)},
    )
    return grants


async def revoke_grant(
    session: AsyncSession, principal: Principal, trail: AuditTrail, grant_id: uuid.UUID
) -> Grant:
    grant = await session.get(Grant, grant_id, with_for_update=True)
    entry = registry.object_type(grant.object_type) if grant is not None else None
    if grant is None or entry is None:
        err = ObjectNotVisible("no such grant")
        err.refusing(Permission.GRANTS_MANAGE.value, GRANT, str(grant_id))
        raise err
    owner = await _managed_owner(session, principal, entry, grant.object_id)
    if grant.revoked_at is not None:
        raise GrantAlreadyRevoked
    grant.revoked_at = utcnow()
    await session.flush()
    await trail.record(
        "grants.revoke",
        object_type=GRANT,
        object_id=grant.id,
        department_id=owner.department_id,
        details=_details(grant),
    )
    if entry.on_grant is not None:
        await entry.on_grant(session, trail, GrantChange("revoked", grant, owner))
    return grant


def _details(grant: Grant) -> dict[str, str | None]:
    return {
        "target_type": grant.object_type,
        "target_id": str(grant.object_id),
        "permission": grant.permission,
        "grantee_user_id": str(grant.grantee_user_id) if grant.grantee_user_id else None,
        "grantee_department_id": (
            str(grant.grantee_department_id) if grant.grantee_department_id else None
        ),
        "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
    }
