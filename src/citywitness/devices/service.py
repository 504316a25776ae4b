"""The recorder registry: create, read, list, change, retire; scoped by department, audited.

A recorder belongs to one department.  Reading needs devices:read there, changing needs
devices:manage there; outside the caller's scope a recorder does not exist (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted, ensure_visible, require, visible_filter
from citywitness.agencies.errors import UnknownDepartment
from citywitness.agencies.repository import mapped_violations
from citywitness.audit.service import Auditor
from citywitness.devices.credentials import revoke_credentials
from citywitness.devices.errors import SerialTaken
from citywitness.devices.models import (
    DeviceCredential,
    DeviceStateRow,
    Recorder,
    RecorderBinding,
    RecorderState,
)
from citywitness.devices.schemas import RecorderCreate, RecorderUpdate
from citywitness.devices.state import ensure_state_row
from citywitness.kit.clock import utcnow
from citywitness.kit.cursor import decode_cursor, encode_cursor
from citywitness.kit.errors import AppError

RECORDER = "recorder"

VIOLATIONS: dict[str, Callable[[], AppError]] = {
    "uq_recorders_serial": lambda: SerialTaken(fields={"serial": "already in use"}),
    "fk_recorders_department_id_departments": lambda: UnknownDepartment(
        fields={"department_id": "no such department"}
    ),
}


@dataclass(frozen=True)
class RecorderView:
    """A recorder with what a console shows beside it."""

    recorder: Recorder
    state: DeviceStateRow | None
    binding: RecorderBinding | None
    enrolled: bool


async def visible_recorder(
    session: AsyncSession,
    principal: Principal,
    recorder_id: uuid.UUID,
    permission: Permission = Permission.DEVICES_READ,
    *,
    for_update: bool = False,
) -> Recorder:
    """The recorder, or 404 if it does not exist or is outside the caller's scope."""
    query = select(Recorder).where(Recorder.id == recorder_id)
    if for_update:
        query = query.with_for_update()
    recorder = (await session.execute(query)).scalar_one_or_none()
    if recorder is None:
        err = ObjectNotVisible(f"no such {RECORDER}")
        err.refusing(permission.value, RECORDER, str(recorder_id))
        raise err
    ensure_visible(
        principal,
        permission,
        department_id=recorder.department_id,
        object_type=RECORDER,
        object_id=recorder.id,
    )
    return recorder


async def managed_recorder(
    session: AsyncSession,
    principal: Principal,
    recorder_id: uuid.UUID,
    permission: Permission = Permission.DEVICES_MANAGE,
) -> Recorder:
    """The recorder, visible (404) and changeable with `permission` (403), locked."""
    recorder = await visible_recorder(session, principal, recorder_id, for_update=True)
    ensure_permitted(
        principal,
        permission,
        department_id=recorder.department_id,
        object_type=RECORDER,
        object_id=recorder.id,
    )
    return recorder


async def _views(session: AsyncSession, recorders: list[Recorder]) -> list[RecorderView]:
    ids = [r.id for r in recorders]
    states = {
        s.recorder_id: s
        for s in (
            await session.execute(select(DeviceStateRow).where(DeviceStateRow.recorder_id.in_(ids)))
        ).scalars()
    }
    bindings = {
        b.recorder_id: b
        for b in (
            await session.execute(
                select(RecorderBinding).where(
                    RecorderBinding.recorder_id.in_(ids), RecorderBinding.ended_at.is_(None)
                )
            )
        ).scalars()
    }
    enrolled = set(
        (
            await session.execute(
                select(DeviceCredential.recorder_id).where(
                    DeviceCredential.recorder_id.in_(ids), DeviceCredential.revoked_at.is_(None)
                )
            )
        ).scalars()
    )
    return [
        RecorderView(r, states.get(r.id), bindings.get(r.id), r.id in enrolled) for r in recorders
    ]


async def view(session: AsyncSession, recorder: Recorder) -> RecorderView:
    return (await _views(session, [recorder]))[0]


async def register(session: AsyncSession, body: RecorderCreate) -> Recorder:
    """The rule without the caller check (the CLI uses it): a unique serial, a state row."""
    recorder = Recorder(id=uuid.uuid4(), state=RecorderState.ACTIVE.value, **body.model_dump())
    async with mapped_violations(session, VIOLATIONS):
        session.add(recorder)
    await ensure_state_row(session, recorder.id)
    await session.refresh(recorder)
    return recorder


async def create_recorder(
    session: AsyncSession, principal: Principal, auditor: Auditor, body: RecorderCreate
) -> RecorderView:
    """Register a recorder in a department where the caller holds devices:manage."""
    require(principal, Permission.DEVICES_MANAGE, action="devices.create")
    ensure_permitted(
        principal,
        Permission.DEVICES_MANAGE,
        department_id=body.department_id,
        object_type=RECORDER,
        object_id=body.serial,
    )
    recorder = await register(session, body)
    await auditor.record(
        "devices.create",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
        details={"serial": recorder.serial},
    )
    return await view(session, recorder)


async def get_recorder(
    session: AsyncSession, principal: Principal, auditor: Auditor, recorder_id: uuid.UUID
) -> RecorderView:
    recorder = await visible_recorder(session, principal, recorder_id)
    await auditor.record(
        "devices.read",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
    )
    return await view(session, recorder)


async def update_recorder(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    recorder_id: uuid.UUID,
    body: RecorderUpdate,
) -> RecorderView:
    """Change fields; retiring revokes the credential and ends the open shift binding."""
    recorder = await managed_recorder(session, principal, recorder_id)
    changes = body.changes()
    if "state" in changes and changes["state"] is not None:
        changes["state"] = RecorderState(changes["state"]).value
    for name, value in changes.items():
        setattr(recorder, name, value)
    now = utcnow()
    recorder.updated_at = now
    revoked = 0
    if changes.get("state") == RecorderState.RETIRED.value:
        revoked = await revoke_credentials(session, recorder.id, now=now)
        for binding in (
            await session.execute(
                select(RecorderBinding).where(
                    RecorderBinding.recorder_id == recorder.id, RecorderBinding.ended_at.is_(None)
                )
            )
        ).scalars():
            binding.ended_at = max(now, binding.started_at)
            binding.ended_by = principal.user_id
    await session.flush()
    await auditor.record(
        "devices.update",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
        details={"fields": sorted(changes), "credentials_revoked": revoked},
    )
    return await view(session, recorder)


async def list_recorders(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    *,
    department_id: uuid.UUID | None = None,
    state: RecorderState | None = None,
    online: bool | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[RecorderView], str | None]:
    """One page of the recorders in scope, by serial, with their latest state."""
    require(principal, Permission.DEVICES_READ, action="devices.list")
    where: list[ColumnElement[bool]] = [
        visible_filter(principal, Permission.DEVICES_READ, department_column=Recorder.department_id)
    ]
    if department_id is not None:
        where.append(Recorder.department_id == department_id)
    if state is not None:
        where.append(Recorder.state == state.value)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(Recorder.serial.ilike(f"{escaped}%", escape="\\"))
    query = select(Recorder)
    if online is not None:
        query = query.join(DeviceStateRow, DeviceStateRow.recorder_id == Recorder.id)
        where.append(DeviceStateRow.online.is_(online))
    if cursor is not None:
        (after,) = decode_cursor(cursor, 1)
        where.append(tuple_(Recorder.serial) > tuple_(after))
    rows = list(
        (await session.execute(query.where(*where).order_by(Recorder.serial).limit(limit + 1)))
        .scalars()
        .all()
    )
    next_cursor = encode_cursor([rows[limit - 1].serial]) if len(rows) > limit else None
    rows = rows[:limit]
    filters = {"department_id": department_id, "state": state, "online": online, "q": q}
    await auditor.record(
        "devices.list",
        object_type=RECORDER,
        details={
            "filters": {k: str(v) for k, v in filters.items() if v is not None},
            "count": len(rows),
            "page": cursor is not None,
        },
    )
    return await _views(session, rows), next_cursor
