"""Shift binding, "one person, one file": one officer wears one recorder for a shift.

At most one open binding per recorder and per officer (partial unique indexes enforce it
even against concurrent requests); ended bindings stay as history.  The officer bound to
a recorder at a given time (`presence.officer_at`) is who that recorder's events, and
later its evidence, are stamped with.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.agencies.models import Officer
from citywitness.agencies.repository import mapped_violations
from citywitness.audit.service import Auditor
from citywitness.devices.errors import (
    NotBound,
    OfficerAlreadyBound,
    OfficerNotInDepartment,
    RecorderAlreadyBound,
    RecorderRetired,
)
from citywitness.devices.models import RecorderBinding, RecorderState
from citywitness.devices.service import RECORDER, managed_recorder, visible_recorder
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import AppError, ValidationFailed

VIOLATIONS: dict[str, Callable[[], AppError]] = {
    "uq_recorder_bindings_open_recorder": lambda: RecorderAlreadyBound(
        fields={"recorder_id": "already bound"}
    ),
    "uq_recorder_bindings_open_officer": lambda: OfficerAlreadyBound(
        fields={"officer_id": "already wears another recorder"}
    ),
}


async def bind(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    recorder_id: uuid.UUID,
    officer_id: uuid.UUID,
    *,
    started_at: datetime | None = None,
) -> RecorderBinding:
    """Open a shift binding; 409 if the recorder or the officer already has an open one."""
    recorder = await managed_recorder(session, principal, recorder_id, Permission.DEVICES_BIND)
    if recorder.state != RecorderState.ACTIVE.value:
        raise RecorderRetired
    officer = await session.get(Officer, officer_id)
    if officer is None or officer.department_id != recorder.department_id or not officer.active:
        raise OfficerNotInDepartment(
            fields={"officer_id": "not an active officer of this department"}
        )
    now = utcnow()
    start = started_at or now
    if start > now:
        raise ValidationFailed(fields={"started_at": "cannot be in the future"})
    binding = RecorderBinding(
        id=uuid.uuid4(),
        recorder_id=recorder.id,
        officer_id=officer.id,
        started_at=start,
        bound_by=principal.user_id,
    )
    async with mapped_violations(session, VIOLATIONS):
        session.add(binding)
    await auditor.record(
        "devices.bind",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
        details={"officer_id": str(officer.id), "binding_id": str(binding.id)},
    )
    return binding


async def unbind(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    recorder_id: uuid.UUID,
    *,
    ended_at: datetime | None = None,
) -> RecorderBinding:
    """End the recorder's open shift binding; 409 not_bound if there is none."""
    recorder = await managed_recorder(session, principal, recorder_id, Permission.DEVICES_BIND)
    binding = (
        await session.execute(
            select(RecorderBinding)
            .where(RecorderBinding.recorder_id == recorder.id, RecorderBinding.ended_at.is_(None))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if binding is None:
        raise NotBound
    now = utcnow()
    end = ended_at or now
    if end > now or end < binding.started_at:
        raise ValidationFailed(fields={"ended_at": "between the shift's start and now"})
    binding.ended_at = end
    binding.ended_by = principal.user_id
    await session.flush()
    await auditor.record(
        "devices.unbind",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
        details={"officer_id": str(binding.officer_id), "binding_id": str(binding.id)},
    )
    return binding


async def binding_history(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    recorder_id: uuid.UUID,
    *,
    limit: int = 100,
) -> list[RecorderBinding]:
    """The recorder's shift bindings, newest first."""
    recorder = await visible_recorder(session, principal, recorder_id)
    found = list(
        (
            await session.execute(
                select(RecorderBinding)
                .where(RecorderBinding.recorder_id == recorder.id)
                .order_by(RecorderBinding.started_at.desc(), RecorderBinding.id)
                .limit(limit)
            )
        ).scalars()
    )
    await auditor.record(
        "devices.bindings_read",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
        details={"count": len(found)},
    )
    return found
