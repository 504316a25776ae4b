"""Geofences: create, read, list, change (deactivate instead of delete: crossings refer to
them).  Reading needs alerts:read in the zone's department, changing alerts:manage;
outside scope a zone does not exist (404).  Audited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import (
    ensure_permitted,
    require,
    visible_filter,
    visible_or_404,
)
from citywitness.audit.service import Auditor
from citywitness.devices.models import Recorder
from citywitness.geo.errors import InvalidGeofence
from citywitness.geo.models import Geofence, GeofencePresence
from citywitness.geo.schemas import GeofenceCreate, GeofenceUpdate
from citywitness.geo.shapes import InvalidZone, parse_zone
from citywitness.kit.clock import utcnow

GEOFENCE = "geofence"


def _check_geometry(geometry: dict[str, Any]) -> None:
    try:
        parse_zone(geometry)
    except InvalidZone as exc:
        raise InvalidGeofence(fields={exc.field: str(exc)}) from exc


async def _check_recorders(
    session: AsyncSession, department_id: uuid.UUID, recorder_ids: list[uuid.UUID] | None
) -> None:
    if not recorder_ids:
        return
    found = await session.scalar(
        select(func.count())
        .select_from(Recorder)
        .where(Recorder.id.in_(recorder_ids), Recorder.department_id == department_id)
    )
    if found != len(set(recorder_ids)):
        raise InvalidGeofence(fields={"recorder_ids": "not all recorders of the department"})


def _permit(principal: Principal, zone_department: uuid.UUID, action: str) -> None:
    require(principal, Permission.ALERTS_MANAGE, action=action)
    ensure_permitted(
        principal,
        Permission.ALERTS_MANAGE,
        department_id=zone_department,
        object_type=GEOFENCE,
        object_id="new",
    )


async def create_geofence(
    session: AsyncSession, principal: Principal, auditor: Auditor, body: GeofenceCreate
) -> Geofence:
    _permit(principal, body.department_id, "geofences.create")
    _check_geometry(body.geometry)
    await _check_recorders(session, body.department_id, body.recorder_ids)
    zone = Geofence(
        id=uuid.uuid4(),
        name=body.name,
        department_id=body.department_id,
        rule=body.rule.value,
        geometry=body.geometry,
        recorder_ids=sorted(set(body.recorder_ids)) if body.recorder_ids else None,
        severity=body.severity,
        active=body.active,
        created_by=principal.user_id,
    )
    session.add(zone)
    await session.flush()
    await session.refresh(zone)
    await auditor.record(
        "geofences.create",
        object_type=GEOFENCE,
        object_id=zone.id,
        department_id=zone.department_id,
    )
    return zone


async def visible_geofence(
    session: AsyncSession, principal: Principal, zone_id: uuid.UUID, *, for_update: bool = False
) -> Geofence:
    query = select(Geofence).where(Geofence.id == zone_id)
    if for_update:
        query = query.with_for_update()
    zone = (await session.execute(query)).scalar_one_or_none()
    return visible_or_404(
        zone, principal, Permission.ALERTS_READ, object_type=GEOFENCE, object_id=zone_id
    )


async def get_geofence(
    session: AsyncSession, principal: Principal, auditor: Auditor, zone_id: uuid.UUID
) -> Geofence:
    zone = await visible_geofence(session, principal, zone_id)
    await auditor.record(
        "geofences.read", object_type=GEOFENCE, object_id=zone.id, department_id=zone.department_id
    )
    return zone


async def list_geofences(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    *,
    department_id: uuid.UUID | None,
    active: bool | None,
) -> list[Geofence]:
    require(principal, Permission.ALERTS_READ, action="geofences.list")
    where = [
        visible_filter(principal, Permission.ALERTS_READ, department_column=Geofence.department_id)
    ]
    if department_id is not None:
        where.append(Geofence.department_id == department_id)
    if active is not None:
        where.append(Geofence.active.is_(active))
    rows = list(
        (
            await session.execute(
                select(Geofence).where(*where).order_by(Geofence.name, Geofence.id).limit(1000)
            )
        ).scalars()
    )
    await auditor.record("geofences.list", object_type=GEOFENCE, details={"count": len(rows)})
    return rows


async def update_geofence(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    zone_id: uuid.UUID,
    body: GeofenceUpdate,
) -> Geofence:
    zone = await visible_geofence(session, principal, zone_id, for_update=True)
    ensure_permitted(
        principal,
        Permission.ALERTS_MANAGE,
        department_id=zone.department_id,
        object_type=GEOFENCE,
        object_id=zone.id,
    )
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if changes.get("geometry") is not None:
        _check_geometry(changes["geometry"])
    if "recorder_ids" in changes:
        await _check_recorders(session, zone.department_id, changes["recorder_ids"])
        ids = changes["recorder_ids"]
        changes["recorder_ids"] = sorted(set(ids)) if ids else None
    if "rule" in changes:
        changes["rule"] = changes["rule"].value
    for name, value in changes.items():
        setattr(zone, name, value)
    zone.updated_at = utcnow()
    if {"geometry", "rule"} & set(changes):  # where recorders were no longer means anything
        await session.execute(
            delete(GeofencePresence).where(GeofencePresence.geofence_id == zone.id)
        )
    await session.flush()
    await auditor.record(
        "geofences.update",
        object_type=GEOFENCE,
        object_id=zone.id,
        department_id=zone.department_id,
        details={"changed": sorted(changes)},
    )
    return zone
