"""Presence and the events table: who is online, and every transition recorded.

Any message is a heartbeat (`accept_message` marks the recorder online and records an
`online` event on the transition).  `sweep_offline` (a periodic job) marks recorders not
heard from for `offline_after_seconds` offline and records an `offline` event; a status
message with `state: offline` (the MQTT last will) does the same at once.  Identity is the
credential, so a recorder whose 4G carrier changes its IP or port stays the same recorder
and stays online; the last address is kept for diagnostics only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.messages import Position
from citywitness.devices.models import STATE_TABLE, DeviceEvent, Recorder, RecorderBinding
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.state import notify_state, state_json


def officer_at(recorder_id: uuid.UUID, at: datetime) -> Any:
    """A scalar subquery: the officer bound to the recorder at `at` (or NULL).

    This is what stamps device events now and evidence later: the binding whose shift
    [started_at, ended_at) contains the time.
    """
    return (
        select(RecorderBinding.officer_id)
        .where(
            RecorderBinding.recorder_id == recorder_id,
            RecorderBinding.started_at <= at,
            or_(RecorderBinding.ended_at.is_(None), RecorderBinding.ended_at > at),
        )
        .order_by(RecorderBinding.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )


async def record_event(
    session: AsyncSession,
    device: DeviceIdentity,
    *,
    kind: str,
    source: str,
    at: datetime,
    received_at: datetime,
    msg_id: str | None,
    position: Position | None,
    details: dict[str, Any],
) -> None:
    """Append one event, stamped with the officer wearing the recorder at the time."""
    await session.execute(
        insert(DeviceEvent).values(
            id=uuid.uuid4(),
            recorder_id=device.device_id,
            department_id=device.department_id,
            officer_id=officer_at(device.device_id, at),
            kind=kind,
            source=source,
            at=at,
            received_at=received_at,
            msg_id=msg_id,
            lat=position.lat if position else None,
            lon=position.lon if position else None,
            accuracy_m=position.accuracy_m if position else None,
            details=details,
        )
    )


@dataclass(frozen=True)
class SweepResult:
    marked_offline: list[uuid.UUID]


async def sweep_offline(session: AsyncSession, *, now: datetime, after: timedelta) -> SweepResult:
    """Mark recorders silent for longer than `after` offline; record and push each change."""
    table = STATE_TABLE
    rows = (
        (
            await session.execute(
                update(table)
                .where(table.c.online.is_(True), table.c.last_seen_at < now - after)
                .values(online=False, written_at=now)
                .returning(*table.c)
            )
        )
        .mappings()
        .all()
    )
    if not rows:
        return SweepResult(marked_offline=[])
    ids = [row["recorder_id"] for row in rows]
    recorders = {
        r.id: r
        for r in (await session.execute(select(Recorder).where(Recorder.id.in_(ids)))).scalars()
    }
    for row in sorted(rows, key=lambda r: str(r["recorder_id"])):
        recorder = recorders[row["recorder_id"]]
        await session.execute(
            insert(DeviceEvent).values(
                id=uuid.uuid4(),
                recorder_id=recorder.id,
                department_id=recorder.department_id,
                officer_id=officer_at(recorder.id, now),
                kind="offline",
                source="platform",
                at=now,
                received_at=now,
                details={"last_seen_at": row["last_seen_at"].isoformat(), "reason": "timeout"},
            )
        )
        await notify_state(
            session, state_json(recorder.id, recorder.department_id, recorder.serial, dict(row))
        )
    return SweepResult(marked_offline=sorted(ids, key=str))
