"""The bridge's fast path: a whole batch of telemetry messages in two statements.

`accept_message` takes one message at a time (two or three round trips each).  At
thousands of messages a second the round trips are the cost, so the bridge stores the
telemetry of a batch at once, with the same rules:

1. `store_positions`: one statement records every (recorder, msg_id) in `device_messages`
   (ON CONFLICT DO NOTHING: dedup) and inserts the positions of the messages that were
   new, from one array per column (INSERT ... SELECT FROM unnest ... JOIN the new ids);
   it returns the new ids.
2. `apply_states`: one statement updates the hot state (`device_state`) of every recorder
   in the batch where that is material (came online, recording changed) or due (last
   written `state_write_interval` ago or more), locking the rows in recorder order, and
   issues the same `NOTIFY cw_device_state` payload as `state.apply_state`: consoles get
   at most one state per recorder per interval.

Events and status messages (rare, with side effects: alerts, command acks) still go
through `accept_message` one by one.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.messages import TelemetryMessage
from citywitness.devices.partitions import day_of, ensure_partitions
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.state import NOTIFY_CHANNEL, PUBLIC_FIELDS

_POSITION_COLUMNS = (
    ("recorder_id", "uuid"),
    ("msg_id", "varchar"),
    ("at", "timestamptz"),
    ("seq", "smallint"),
    ("lat", "double precision"),
    ("lon", "double precision"),
    ("accuracy_m", "real"),
    ("speed_mps", "real"),
    ("heading_deg", "real"),
    ("fix", "varchar"),
    ("received_at", "timestamptz"),
)


def _recordset(columns: tuple[tuple[str, str], ...], param: str, alias: str) -> str:
    """Rows from one JSON parameter (an array of objects): far cheaper to send than one
    array per column, which psycopg quotes element by element."""
    names = ", ".join(f"{name} {kind}" for name, kind in columns)
    return f"json_to_recordset(CAST(:{param} AS json)) AS {alias}({names})"


def _json_rows(columns: tuple[tuple[str, str], ...], rows: list[tuple[Any, ...]]) -> str:
    names = [name for name, _ in columns]
    # str() of a UUID or an aware datetime is what PostgreSQL reads back exactly
    return json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=str)


_MESSAGE_COLUMNS = (("recorder_id", "uuid"), ("msg_id", "varchar"), ("received_at", "timestamptz"))

_STORE = text(
    f"WITH m AS (SELECT * FROM {_recordset(_MESSAGE_COLUMNS, 'm', 'm')}),"  # noqa: S608 - constant names only
    " seen AS (INSERT INTO device_messages (recorder_id, msg_id, kind, transport, received_at)"
    " SELECT recorder_id, msg_id, 'telemetry', 'mqtt', received_at FROM m"
    " ON CONFLICT DO NOTHING RETURNING recorder_id, msg_id),"
    " pos AS (INSERT INTO device_positions (recorder_id, at, msg_id, seq, lat, lon, accuracy_m,"
    " speed_mps, heading_deg, fix, received_at)"
    " SELECT p.recorder_id, p.at, p.msg_id, p.seq, p.lat, p.lon, p.accuracy_m, p.speed_mps,"
    " p.heading_deg, p.fix, p.received_at"
    f" FROM {_recordset(_POSITION_COLUMNS, 'p', 'p')}"
    " JOIN seen ON seen.recorder_id = p.recorder_id AND seen.msg_id = p.msg_id"
    " ON CONFLICT DO NOTHING)"
    " SELECT recorder_id, msg_id FROM seen"
)


@dataclass(frozen=True)
class Telemetry:
    """One parsed, time-checked telemetry message of a known recorder."""

    device: DeviceIdentity
    message: TelemetryMessage
    received_at: datetime


async def store_positions(
    session: AsyncSession, batch: list[Telemetry]
) -> set[tuple[uuid.UUID, str]]:
    """Record the batch's message ids and insert the new messages' positions; the new ids.

    The batch must not hold the same (recorder, msg_id) twice (the caller drops repeats).
    """
    if not batch:
        return set()
    await ensure_partitions(session, {day_of(p.at) for t in batch for p in t.message.positions})
    positions = [
        (t.device.device_id, t.message.msg_id, p.at, seq, p.lat, p.lon, p.accuracy_m,
         p.speed_mps, p.heading_deg, p.fix, t.received_at)
        for t in batch
        for seq, p in enumerate(t.message.positions)
    ]  # fmt: skip
    messages = [(t.device.device_id, t.message.msg_id, t.received_at) for t in batch]
    params = {
        "m": _json_rows(_MESSAGE_COLUMNS, messages),
        "p": _json_rows(_POSITION_COLUMNS, positions),
    }
    rows = await session.execute(_STORE, params)
    return {(row[0], row[1]) for row in rows}


_STATE_COLUMNS = (
    ("recorder_id", "uuid"),
    ("department_id", "uuid"),
    ("serial", "varchar"),
    ("seen_at", "timestamptz"),
    ("battery_pct", "real"),
    ("storage_free_mb", "integer"),
    ("temperature_c", "real"),
    ("signal_dbm", "integer"),
    ("recording", "boolean"),
    ("lat", "double precision"),
    ("lon", "double precision"),
    ("accuracy_m", "real"),
    ("speed_mps", "real"),
    ("heading_deg", "real"),
    ("fix", "varchar"),
    ("position_at", "timestamptz"),
)
_KEPT = ("battery_pct", "storage_free_mb", "temperature_c", "signal_dbm", "recording")
_POSITION = ("lat", "lon", "accuracy_m", "speed_mps", "heading_deg", "fix", "position_at")
_NEWER = "(u.position_at IS NOT NULL AND (s.position_at IS NULL OR u.position_at > s.position_at))"
_SET = ", ".join(
    [f"{name} = COALESCE(u.{name}, s.{name})" for name in _KEPT]
    + [f"{name} = CASE WHEN {_NEWER} THEN u.{name} ELSE s.{name} END" for name in _POSITION]
)
_PUSHED = ", ".join(f"'{name}', w.{name}" for name in PUBLIC_FIELDS)

_APPLY_STATES = text(
    f"WITH u AS (SELECT * FROM {_recordset(_STATE_COLUMNS, 'u', 'u')}),"  # noqa: S608 - constant names only
    " prev AS (SELECT s.recorder_id, s.online, s.recording, s.written_at FROM device_state s"
    " JOIN u ON u.recorder_id = s.recorder_id ORDER BY s.recorder_id FOR UPDATE OF s),"
    " w AS (UPDATE device_state s SET online = true, last_seen_at = u.seen_at,"
    f" last_transport = 'mqtt', written_at = u.seen_at, {_SET}"
    " FROM u JOIN prev ON prev.recorder_id = u.recorder_id"
    " WHERE s.recorder_id = u.recorder_id AND ("
    " prev.written_at <= u.seen_at - CAST(:interval AS interval)"
    " OR prev.online IS DISTINCT FROM true"
    " OR (u.recording IS NOT NULL AND prev.recording IS DISTINCT FROM u.recording))"
    " RETURNING s.*, u.department_id AS u_department_id, u.serial AS u_serial)"
    " SELECT prev.recorder_id, prev.online AS was_online, w.recorder_id IS NOT NULL AS written,"
    " CASE WHEN w.recorder_id IS NOT NULL THEN pg_notify(:channel, json_build_object("
    f"'recorder_id', w.recorder_id, 'department_id', w.u_department_id, 'serial', w.u_serial,"
    f" {_PUSHED})::text) END AS notified"
    " FROM prev LEFT JOIN w ON w.recorder_id = prev.recorder_id"
)


@dataclass(frozen=True)
class StateOutcome:
    """Per recorder: whether it has a state row, whether it was written, came online."""

    missing: list[uuid.UUID]
    written: int
    came_online: list[uuid.UUID]


def _state_row(
    device: DeviceIdentity, seen_at: datetime, message: TelemetryMessage | None
) -> tuple[Any, ...]:
    if message is None:  # a duplicate: only a heartbeat
        return (device.device_id, device.department_id, device.serial, seen_at,
                None, None, None, None, None, None, None, None, None, None, None, None)  # fmt: skip
    p = max(message.positions, key=lambda q: q.at)
    return (device.device_id, device.department_id, device.serial, seen_at,
            message.battery_pct, message.storage_free_mb, message.temperature_c,
            message.signal_dbm, message.recording,
            p.lat, p.lon, p.accuracy_m, p.speed_mps, p.heading_deg, p.fix, p.at)  # fmt: skip


async def apply_states(
    session: AsyncSession,
    latest: dict[uuid.UUID, tuple[DeviceIdentity, datetime, TelemetryMessage | None]],
    *,
    min_interval: timedelta,
) -> StateOutcome:
    """Update each recorder's hot state from its latest message in the batch (None: a
    duplicate, a heartbeat only); NOTIFY what was written."""
    if not latest:
        return StateOutcome(missing=[], written=0, came_online=[])
    rows = [_state_row(device, seen, message) for device, seen, message in latest.values()]
    params = {
        "u": _json_rows(_STATE_COLUMNS, rows),
        "interval": min_interval,
        "channel": NOTIFY_CHANNEL,
    }
    result = (await session.execute(_APPLY_STATES, params)).all()
    found = {row.recorder_id for row in result}
    return StateOutcome(
        missing=[recorder_id for recorder_id in latest if recorder_id not in found],
        written=sum(1 for row in result if row.written),
        came_online=[row.recorder_id for row in result if row.written and not row.was_online],
    )


_ONLINE = text(
    "INSERT INTO device_events (id, recorder_id, department_id, officer_id, kind, source, at,"
    " received_at, details)"
    " SELECT gen_random_uuid(), u.recorder_id, u.department_id,"
    " (SELECT b.officer_id FROM recorder_bindings b WHERE b.recorder_id = u.recorder_id"
    " AND b.started_at <= u.at AND (b.ended_at IS NULL OR b.ended_at > u.at)"
    " ORDER BY b.started_at DESC LIMIT 1),"
    " 'online', 'platform', u.at, u.at, CAST(:details AS jsonb)"
    " FROM unnest(CAST(:recorder_id AS uuid[]), CAST(:department_id AS uuid[]),"
    " CAST(:at AS timestamptz[])) AS u(recorder_id, department_id, at)"
    " ORDER BY u.recorder_id"
)


async def record_online(session: AsyncSession, came: list[tuple[DeviceIdentity, datetime]]) -> None:
    """The `online` events of recorders that came online (the rows `presence.record_event`
    writes, officer stamped the same way), in one INSERT: a fleet coming back after an
    outage is thousands at once."""
    if not came:
        return
    await session.execute(
        _ONLINE,
        {
            "recorder_id": [device.device_id for device, _ in came],
            "department_id": [device.department_id for device, _ in came],
            "at": [at for _, at in came],
            "details": '{"transport": "mqtt"}',
        },
    )
