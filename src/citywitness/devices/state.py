"""The hot state of each recorder (`device_state`, one row updated in place) and its push.

Written only when something material changed (came online, went offline, recording
started or stopped, new firmware) or, for everything else (a newer position, health
readings, the heartbeat), at most once per `state_write_interval_seconds` per recorder
(Frigate style: the database is not a message bus).  Each write also issues
`NOTIFY cw_device_state` with the new state as JSON, in the same transaction, so
consoles hear of it exactly when (and only if) it commits.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from citywitness.devices.messages import Position
from citywitness.devices.models import DeviceStateRow

NOTIFY_CHANNEL = "cw_device_state"

HEALTH_FIELDS = ("battery_pct", "storage_free_mb", "temperature_c", "signal_dbm")
URGENT_FIELDS = ("online", "recording", "firmware")
PUBLIC_FIELDS = (
    "online",
    "last_seen_at",
    "last_transport",
    *HEALTH_FIELDS,
    "recording",
    "firmware",
    "lat",
    "lon",
    "accuracy_m",
    "speed_mps",
    "heading_deg",
    "fix",
    "position_at",
)


@dataclass
class StateUpdate:
    """What one message says about a recorder's state (None: says nothing)."""

    seen_at: datetime
    transport: str
    address: str | None = None
    online: bool = True
    health: dict[str, Any] = field(default_factory=dict)
    recording: bool | None = None
    firmware: str | None = None
    position: Position | None = None


async def ensure_state_row(session: AsyncSession, recorder_id: uuid.UUID) -> None:
    await session.execute(
        insert(DeviceStateRow)
        .values(recorder_id=recorder_id, online=False)
        .on_conflict_do_nothing(index_elements=["recorder_id"])
    )


def state_json(
    recorder_id: uuid.UUID, department_id: uuid.UUID, serial: str, values: dict[str, Any]
) -> str:
    """The pushed form of a state: ids, serial and PUBLIC_FIELDS (times as ISO 8601)."""
    body: dict[str, Any] = {
        "recorder_id": str(recorder_id),
        "department_id": str(department_id),
        "serial": serial,
    }
    for name in PUBLIC_FIELDS:
        value = values.get(name)
        body[name] = value.isoformat() if isinstance(value, datetime) else value
    return json.dumps(body, separators=(",", ":"))


async def notify_state(session: AsyncSession, payload: str) -> None:
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": NOTIFY_CHANNEL, "payload": payload},
    )


@dataclass(frozen=True)
class StateWrite:
    written: bool
    came_online: bool
    went_offline: bool


NOT_WRITTEN = StateWrite(written=False, came_online=False, went_offline=False)

_NEWER = "(s.position_at IS NULL OR CAST(:position_at AS timestamptz) > s.position_at)"
_POSITION_SET = ", ".join(
    f"{name} = CASE WHEN CAST(:position_at AS timestamptz) IS NOT NULL AND {_NEWER} "
    f"THEN CAST(:{name} AS {kind}) ELSE s.{name} END"
    for name, kind in (
        ("lat", "double precision"),
        ("lon", "double precision"),
        ("accuracy_m", "real"),
        ("speed_mps", "real"),
        ("heading_deg", "real"),
        ("fix", "varchar"),
        ("position_at", "timestamptz"),
    )
)
_KEPT_SET = ", ".join(
    f"{name} = COALESCE(CAST(:{name} AS {kind}), s.{name})"
    for name, kind in (
        ("last_address", "varchar"),
        ("battery_pct", "real"),
        ("storage_free_mb", "integer"),
        ("temperature_c", "real"),
        ("signal_dbm", "integer"),
        ("recording", "boolean"),
        ("firmware", "varchar"),
    )
)
_PUSHED = ", ".join(f"'{name}', u.{name}" for name in PUBLIC_FIELDS)

# One round trip: lock the row, decide in SQL whether this write is material or due,
# write it, and NOTIFY the written row (json_build_object of PUBLIC_FIELDS).
_APPLY = text(
    "WITH prev AS (SELECT recorder_id, online, recording, firmware, written_at"  # noqa: S608 - constant names only
    " FROM device_state WHERE recorder_id = :recorder_id FOR UPDATE),"
    " u AS (UPDATE device_state s SET online = :online, last_seen_at = :seen_at,"
    f" last_transport = :transport, written_at = :seen_at, {_KEPT_SET}, {_POSITION_SET}"
    " FROM prev WHERE s.recorder_id = prev.recorder_id AND ("
    " prev.written_at <= CAST(:due_before AS timestamptz)"
    " OR prev.online IS DISTINCT FROM :online"
    " OR (CAST(:recording AS boolean) IS NOT NULL"
    "     AND prev.recording IS DISTINCT FROM CAST(:recording AS boolean))"
    " OR (CAST(:firmware AS varchar) IS NOT NULL"
    "     AND prev.firmware IS DISTINCT FROM CAST(:firmware AS varchar)))"
    " RETURNING s.*)"
    " SELECT prev.online AS was_online, u.online AS now_online,"
    " CASE WHEN u.recorder_id IS NOT NULL THEN pg_notify(:channel, json_build_object("
    f"'recorder_id', u.recorder_id, 'department_id', CAST(:department_id AS uuid),"
    f" 'serial', CAST(:serial AS varchar), {_PUSHED})::text) END AS notified"
    " FROM prev LEFT JOIN u ON true"
)


def _params(
    recorder_id: uuid.UUID, department_id: uuid.UUID, serial: str, upd: StateUpdate
) -> dict[str, Any]:
    pos = upd.position
    return {
        "recorder_id": recorder_id,
        "department_id": department_id,
        "serial": serial,
        "channel": NOTIFY_CHANNEL,
        "online": upd.online,
        "seen_at": upd.seen_at,
        "transport": upd.transport,
        "last_address": upd.address[:64] if upd.address else None,
        **{name: upd.health.get(name) for name in HEALTH_FIELDS},
        "recording": upd.recording,
        "firmware": upd.firmware,
        "lat": pos.lat if pos else None,
        "lon": pos.lon if pos else None,
        "accuracy_m": pos.accuracy_m if pos else None,
        "speed_mps": pos.speed_mps if pos else None,
        "heading_deg": pos.heading_deg if pos else None,
        "fix": pos.fix if pos else None,
        "position_at": pos.at if pos else None,
    }


@dataclass
class _Written:
    at: datetime
    online: bool
    recording: bool | None
    firmware: str | None


# What this process last wrote per recorder: a hint that lets a message which is neither
# material nor due skip the database entirely.  Only a hint: another process may have
# written since; the SQL decides again whenever a statement is sent.
_last_written: dict[uuid.UUID, _Written] = {}
_LAST_WRITTEN_MAX = 200_000
# A write becomes a hint only when its transaction commits: a rolled-back write must not
# make a later, material one look skippable.  Pending hints wait in the session's `info`.
_PENDING = "cw_devices_state_written"


@event.listens_for(Session, "after_commit")
def _keep_written(session: Session) -> None:
    pending: dict[uuid.UUID, _Written] | None = session.info.pop(_PENDING, None)
    if pending:
        if len(_last_written) + len(pending) > _LAST_WRITTEN_MAX:
            _last_written.clear()
        _last_written.update(pending)


@event.listens_for(Session, "after_rollback")
def _forget_written(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _surely_skippable(recorder_id: uuid.UUID, upd: StateUpdate, min_interval: timedelta) -> bool:
    last = _last_written.get(recorder_id)
    if last is None or upd.seen_at - last.at >= min_interval or upd.seen_at < last.at:
        return False
    if upd.online != last.online:
        return False
    if upd.recording is not None and upd.recording != last.recording:
        return False
    return upd.firmware is None or upd.firmware == last.firmware


async def apply_state(
    session: AsyncSession,
    *,
    recorder_id: uuid.UUID,
    department_id: uuid.UUID,
    serial: str,
    upd: StateUpdate,
    min_interval: timedelta,
) -> StateWrite:
    """Update the recorder's hot state if material or due; NOTIFY consoles when written."""
    if _surely_skippable(recorder_id, upd, min_interval):
        return NOT_WRITTEN
    params = _params(recorder_id, department_id, serial, upd)
    params["due_before"] = upd.seen_at - min_interval
    row = (await session.execute(_APPLY, params)).first()
    if row is None:  # no state row yet (a recorder made outside the registry service)
        await ensure_state_row(session, recorder_id)
        row = (await session.execute(_APPLY, params)).first()
        if row is None:
            return NOT_WRITTEN
    was_online, now_online = row.was_online, row.now_online
    if now_online is None:
        return NOT_WRITTEN
    pending: dict[uuid.UUID, _Written] = session.sync_session.info.setdefault(_PENDING, {})
    previous = pending.get(recorder_id) or _last_written.get(recorder_id)
    pending[recorder_id] = _Written(
        at=upd.seen_at,
        online=upd.online,
        recording=upd.recording
        if upd.recording is not None or previous is None
        else previous.recording,
        firmware=upd.firmware
        if upd.firmware is not None or previous is None
        else previous.firmware,
    )
    return StateWrite(
        written=True,
        came_online=bool(now_online and not was_online),
        went_offline=bool(was_online and not now_online),
    )
