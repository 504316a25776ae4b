"""Reading a recorder's track (positions) and its events: scoped, keyset-paged, audited.

Positions need devices:track (where an officer was is personal data); events need
devices:read.  Both are 404 outside the caller's scope.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.audit.service import Auditor
from citywitness.devices.models import DeviceEvent, DevicePosition
from citywitness.devices.service import RECORDER, visible_recorder
from citywitness.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from citywitness.kit.errors import ValidationFailed


def _window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed(fields={"to": "must be after from"})


def _decode_time(value: str) -> datetime:
    try:
        found = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
    if found.tzinfo is None:
        raise InvalidCursor(fields={"cursor": "not a cursor"})
    return found


async def positions_page(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    recorder_id: uuid.UUID,
    *,
    start: datetime,
    end: datetime,
    cursor: str | None,
    limit: int,
) -> tuple[list[DevicePosition], str | None]:
    """Positions in [start, end), oldest first, `limit` per page."""
    recorder = await visible_recorder(session, principal, recorder_id, Permission.DEVICES_TRACK)
    _window(start, end)
    where: list[ColumnElement[bool]] = [
        DevicePosition.recorder_id == recorder.id,
        DevicePosition.at >= start,
        DevicePosition.at < end,
    ]
    if cursor is not None:
        at, msg_id, seq = decode_cursor(cursor, 3)
        if not seq.isdigit():
            raise InvalidCursor(fields={"cursor": "not a cursor"})
        key = tuple_(DevicePosition.at, DevicePosition.msg_id, DevicePosition.seq)
        where.append(key > tuple_(_decode_time(at), msg_id, int(seq)))
    rows = list(
        (
            await session.execute(
                select(DevicePosition)
                .where(*where)
                .order_by(DevicePosition.at, DevicePosition.msg_id, DevicePosition.seq)
                .limit(limit + 1)
            )
        ).scalars()
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([last.at.isoformat(), last.msg_id, str(last.seq)])
    rows = rows[:limit]
    await auditor.record(
        "devices.positions_read",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
        details={"from": start.isoformat(), "to": end.isoformat(), "count": len(rows)},
    )
    return rows, next_cursor


def as_features(rows: list[DevicePosition], shape: str) -> list[dict[str, Any]]:
    """GeoJSON features: one Point per position, or one LineString with the times."""
    if shape == "line":
        if not rows:
            return []
        return [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[p.lon, p.lat] for p in rows]},
                "properties": {"times": [p.at.isoformat() for p in rows]},
            }
        ]
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
            "properties": {
                "at": p.at.isoformat(),
                "accuracy_m": p.accuracy_m,
                "speed_mps": p.speed_mps,
                "heading_deg": p.heading_deg,
                "fix": p.fix,
            },
        }
        for p in rows
    ]


async def events_page(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    recorder_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[DeviceEvent], str | None]:
    """The recorder's events, newest first."""
    recorder = await visible_recorder(session, principal, recorder_id)
    if start is not None and end is not None:
        _window(start, end)
    where: list[ColumnElement[bool]] = [DeviceEvent.recorder_id == recorder.id]
    if start is not None:
        where.append(DeviceEvent.at >= start)
    if end is not None:
        where.append(DeviceEvent.at < end)
    if kind is not None:
        where.append(DeviceEvent.kind == kind)
    if cursor is not None:
        at, event_id = decode_cursor(cursor, 2)
        try:
            after_id = uuid.UUID(event_id)
        except ValueError as exc:
            raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
        where.append(tuple_(DeviceEvent.at, DeviceEvent.id) < tuple_(_decode_time(at), after_id))
    rows = list(
        (
            await session.execute(
                select(DeviceEvent)
                .where(*where)
                .order_by(DeviceEvent.at.desc(), DeviceEvent.id.desc())
                .limit(limit + 1)
            )
        ).scalars()
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([last.at.isoformat(), str(last.id)])
    rows = rows[:limit]
    await auditor.record(
        "devices.events_read",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
        details={"count": len(rows), "kind": kind},
    )
    return rows, next_cursor
