"""Accepting one device message, whatever the transport (MQTT or HTTPS).

`accept_message` parses, checks times, de-duplicates on (recorder, msg_id), stores
positions (one batched INSERT ... SELECT FROM unnest per message), events and health, and
updates presence and the hot state, all in the caller's transaction.  A duplicate still
counts as a heartbeat.  A transaction that accepts several messages should take them in a
stable order of recorder (row locks on device_state), to keep concurrent batches from
deadlocking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.commands_device import ack_from_event
from citywitness.devices.errors import InvalidDeviceMessage
from citywitness.devices.messages import (
    DeviceMessage,
    EventMessage,
    MessageKind,
    StatusMessage,
    TelemetryMessage,
    parse_message,
)
from citywitness.devices.models import DeviceMessageSeen
from citywitness.devices.partitions import day_of, ensure_partitions
from citywitness.devices.presence import record_event
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.state import StateUpdate, apply_state
from citywitness.settings.sections import DevicesSettings

Transport = Literal["mqtt", "https"]


@dataclass(frozen=True)
class TelemetryLimits:
    """The time window a message's device times must fall in, and the state write rate."""

    max_clock_skew: timedelta = timedelta(seconds=300)
    max_backfill: timedelta = timedelta(days=7)
    state_write_interval: timedelta = timedelta(seconds=1)

    @classmethod
    def from_settings(cls, settings: DevicesSettings) -> TelemetryLimits:
        return cls(
            max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
            max_backfill=timedelta(days=settings.max_backfill_days),
            state_write_interval=timedelta(seconds=settings.state_write_interval_seconds),
        )


@dataclass(frozen=True)
class AcceptResult:
    """What happened to one message: new (stored) or a duplicate (already stored)."""

    new: bool
    kind: MessageKind
    msg_id: str
    positions: int = 0
    events: int = 0
    state_written: bool = False

    @property
    def duplicate(self) -> bool:
        return not self.new


def _times(message: DeviceMessage) -> list[tuple[str, datetime]]:
    if isinstance(message, TelemetryMessage):
        return [(f"positions.{i}.at", p.at) for i, p in enumerate(message.positions)]
    found: list[tuple[str, datetime]] = []
    if message.at is not None:
        found.append(("at", message.at))
    if isinstance(message, EventMessage) and message.position is not None:
        found.append(("position.at", message.position.at))
    return found


def check_times(message: DeviceMessage, received_at: datetime, limits: TelemetryLimits) -> None:
    """422 for a time too far in the future (clock skew) or too old (backfill window)."""
    fields: dict[str, str] = {}
    latest = received_at + limits.max_clock_skew
    earliest = received_at - limits.max_backfill
    for name, at in _times(message):
        if at > latest:
            fields[name] = f"more than {int(limits.max_clock_skew.total_seconds())} s ahead"
        elif at < earliest:
            fields[name] = f"older than {limits.max_backfill.days} days"
    if fields:
        raise InvalidDeviceMessage("device time out of range", fields=fields)


async def _first_time(
    session: AsyncSession,
    device: DeviceIdentity,
    *,
    message: DeviceMessage,
    kind: MessageKind,
    transport: Transport,
    received_at: datetime,
) -> bool:
    result = await session.execute(
        insert(DeviceMessageSeen)
        .values(
            recorder_id=device.device_id,
            msg_id=message.msg_id,
            kind=kind,
            transport=transport,
            received_at=received_at,
        )
        .on_conflict_do_nothing(index_elements=["recorder_id", "msg_id"])
        .returning(DeviceMessageSeen.msg_id)
    )
    return result.first() is not None


# One round trip for a telemetry message: the message id is recorded and, only if it was
# new, the positions are inserted (INSERT ... SELECT FROM unnest of one array per column).
_INSERT_POSITIONS = text(
    "WITH seen AS (INSERT INTO device_messages (recorder_id, msg_id, kind, transport,"
    " received_at) VALUES (:recorder_id, :msg_id, 'telemetry', :transport, :received_at)"
    " ON CONFLICT DO NOTHING RETURNING 1)"
    " INSERT INTO device_positions (recorder_id, at, msg_id, seq, lat, lon, accuracy_m,"
    " speed_mps, heading_deg, fix, received_at)"
    " SELECT :recorder_id, u.at, :msg_id, u.seq, u.lat, u.lon, u.accuracy_m, u.speed_mps,"
    " u.heading_deg, u.fix, :received_at"
    " FROM unnest(CAST(:at AS timestamptz[]), CAST(:seq AS smallint[]),"
    " CAST(:lat AS double precision[]), CAST(:lon AS double precision[]),"
    " CAST(:accuracy_m AS real[]), CAST(:speed_mps AS real[]), CAST(:heading_deg AS real[]),"
    " CAST(:fix AS varchar[]))"
    " AS u(at, seq, lat, lon, accuracy_m, speed_mps, heading_deg, fix)"
    " WHERE EXISTS (SELECT 1 FROM seen)"
    " ON CONFLICT DO NOTHING"
)


async def store_telemetry(
    session: AsyncSession,
    recorder_id: uuid.UUID,
    message: TelemetryMessage,
    *,
    transport: Transport,
    received_at: datetime,
) -> int:
    """Record the message id and insert its positions; how many were new (0: a duplicate)."""
    positions = message.positions
    await ensure_partitions(session, {day_of(p.at) for p in positions})
    result = await session.execute(
        _INSERT_POSITIONS,
        {
            "recorder_id": recorder_id,
            "msg_id": message.msg_id,
            "transport": transport,
            "received_at": received_at,
            "at": [p.at for p in positions],
            "seq": list(range(len(positions))),
            "lat": [p.lat for p in positions],
            "lon": [p.lon for p in positions],
            "accuracy_m": [p.accuracy_m for p in positions],
            "speed_mps": [p.speed_mps for p in positions],
            "heading_deg": [p.heading_deg for p in positions],
            "fix": [p.fix for p in positions],
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _state_update(
    message: DeviceMessage | None, transport: Transport, received_at: datetime, address: str | None
) -> StateUpdate:
    upd = StateUpdate(seen_at=received_at, transport=transport, address=address)
    if isinstance(message, TelemetryMessage | StatusMessage):
        upd.health = {
            "battery_pct": message.battery_pct,
            "storage_free_mb": message.storage_free_mb,
            "temperature_c": message.temperature_c,
            "signal_dbm": message.signal_dbm,
        }
        upd.recording = message.recording
    if isinstance(message, TelemetryMessage):
        upd.position = max(message.positions, key=lambda p: p.at)
    elif isinstance(message, StatusMessage):
        upd.online = message.state == "online"
        upd.firmware = message.firmware
    elif isinstance(message, EventMessage):
        upd.position = message.position
        if message.kind in ("recording_started", "recording_stopped"):
            upd.recording = message.kind == "recording_started"
    return upd


async def accept_message(
    session: AsyncSession,
    device: DeviceIdentity,
    kind: str,
    payload: bytes,
    *,
    transport: Transport,
    received_at: datetime,
    limits: TelemetryLimits | None = None,
    address: str | None = None,
) -> AcceptResult:
    """Parse and store one message from `device`; InvalidDeviceMessage (422) if it is bad.

    `limits` defaults to the settings' defaults (pass `TelemetryLimits.from_settings`);
    `address` (the peer's IP:port, diagnostics only, never identity) is optional.
    """
    limits = limits or TelemetryLimits()
    message = parse_message(kind, payload)
    check_times(message, received_at, limits)
    typed_kind: MessageKind = (
        "telemetry"
        if isinstance(message, TelemetryMessage)
        else "event"
        if isinstance(message, EventMessage)
        else "status"
    )
    positions = events = 0
    if isinstance(message, TelemetryMessage):
        positions = await store_telemetry(
            session, device.device_id, message, transport=transport, received_at=received_at
        )
        new = positions > 0
    else:
        new = await _first_time(
            session,
            device,
            message=message,
            kind=typed_kind,
            transport=transport,
            received_at=received_at,
        )
    if new and isinstance(message, EventMessage):
        await record_event(
            session,
            device,
            kind=message.kind,
            source="device",
            at=message.at,
            received_at=received_at,
            msg_id=message.msg_id,
            position=message.position,
            details=dict(message.details),
        )
        events = 1
        if message.kind == "command_ack":
            await ack_from_event(
                session, device, dict(message.details), at=received_at, transport=transport
            )
    upd = _state_update(message if new else None, transport, received_at, address)
    if not new and isinstance(message, StatusMessage):
        upd.online = message.state == "online"
    write = await apply_state(
        session,
        recorder_id=device.device_id,
        department_id=device.department_id,
        serial=device.serial,
        upd=upd,
        min_interval=limits.state_write_interval,
    )
    if write.came_online or write.went_offline:
        await record_event(
            session,
            device,
            kind="online" if write.came_online else "offline",
            source="device" if write.went_offline else "platform",
            at=received_at,
            received_at=received_at,
            msg_id=None,
            position=None,
            details={"transport": transport},
        )
        events += 1
    return AcceptResult(
        new=new,
        kind=typed_kind,
        msg_id=message.msg_id,
        positions=positions,
        events=events,
        state_written=write.written,
    )
