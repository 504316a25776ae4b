"""Recorders, shift bindings, enrollment codes, device credentials, telemetry and presence."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    REAL,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class RecorderState(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class Recorder(UUIDPrimaryKey, CreatedAt, Base):
    """A body-worn recorder (or any device that reports), owned by one department."""

    __tablename__ = "recorders"
    __table_args__ = (Index("ix_recorders_department_serial", "department_id", "serial"),)

    serial: Mapped[str] = mapped_column(String(64), unique=True)
    model: Mapped[str | None] = mapped_column(String(120))
    firmware: Mapped[str | None] = mapped_column(String(64))
    imei: Mapped[str | None] = mapped_column(String(16))
    iccid: Mapped[str | None] = mapped_column(String(22))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default=RecorderState.ACTIVE.value)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class RecorderBinding(UUIDPrimaryKey, Base):
    """One shift of one officer wearing one recorder ("one person, one file").

    Open while `ended_at` is null; at most one open binding per recorder and per officer
    (partial unique indexes).  Rows are kept as history.
    """

    __tablename__ = "recorder_bindings"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ended_after_start"),
        Index(
            "uq_recorder_bindings_open_recorder",
            "recorder_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index(
            "uq_recorder_bindings_open_officer",
            "officer_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_recorder_bindings_recorder_started", "recorder_id", "started_at"),
    )

    recorder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recorders.id"))
    officer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officers.id"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    bound_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    ended_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class EnrollmentCode(UUIDPrimaryKey, CreatedAt, Base):
    """A one-time enrollment code: only its SHA-256 is kept; it expires and is used once."""

    __tablename__ = "device_enrollment_codes"

    recorder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recorders.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class DeviceCredential(UUIDPrimaryKey, CreatedAt, Base):
    """A recorder's secret (SHA-256 of 256 random bits); one live credential per recorder."""

    __tablename__ = "device_credentials"
    __table_args__ = (
        Index(
            "uq_device_credentials_live_recorder",
            "recorder_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
        Index("ix_device_credentials_revoked_at", "revoked_at"),  # the broker's revocation watch
    )

    recorder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recorders.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    # the same secret for an external Mosquitto's password file (devices/mqtt_passwd.py)
    mosquitto_hash: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]
    enrollment_code_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("device_enrollment_codes.id")
    )


class DeviceMessageSeen(Base):
    """Every accepted message id per recorder, so a retried message is stored once."""

    __tablename__ = "device_messages"
    __table_args__ = (Index("ix_device_messages_received_at", "received_at"),)

    recorder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recorders.id"), primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    transport: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime]


class DevicePosition(Base):
    """Positions, range-partitioned by day on `at` (partitions `device_positions_pYYYYMMDD`)."""

    __tablename__ = "device_positions"
    __table_args__ = {"postgresql_partition_by": "RANGE (at)"}  # noqa: RUF012 - SQLAlchemy API

    recorder_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    accuracy_m: Mapped[float | None] = mapped_column(REAL)
    speed_mps: Mapped[float | None] = mapped_column(REAL)
    heading_deg: Mapped[float | None] = mapped_column(REAL)
    fix: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime]


class DeviceEvent(UUIDPrimaryKey, Base):
    """Something that happened to a recorder (append-only): from the device or the platform.

    Device events: recording_started/stopped, sos, low_battery, tamper...  Platform events:
    `online` and `offline` transitions of presence.
    """

    __tablename__ = "device_events"
    __table_args__ = (
        Index("ix_device_events_recorder_at", "recorder_id", "at", "id"),
        Index("ix_device_events_department_at", "department_id", "at"),
    )

    recorder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recorders.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officers.id"))
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime]
    received_at: Mapped[datetime]
    msg_id: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    accuracy_m: Mapped[float | None] = mapped_column(REAL)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class DeviceStateRow(Base):
    """The hot, latest state of a recorder: one row updated in place on material change."""

    __tablename__ = "device_state"
    __table_args__ = (Index("ix_device_state_online_seen", "online", "last_seen_at"),)

    recorder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recorders.id"), primary_key=True)
    online: Mapped[bool] = mapped_column(default=False)
    last_seen_at: Mapped[datetime | None]
    last_transport: Mapped[str | None] = mapped_column(String(8))
    last_address: Mapped[str | None] = mapped_column(String(64))
    battery_pct: Mapped[float | None] = mapped_column(REAL)
    storage_free_mb: Mapped[int | None]
    temperature_c: Mapped[float | None] = mapped_column(REAL)
    signal_dbm: Mapped[int | None]
    recording: Mapped[bool | None]
    firmware: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    accuracy_m: Mapped[float | None] = mapped_column(REAL)
    speed_mps: Mapped[float | None] = mapped_column(REAL)
    heading_deg: Mapped[float | None] = mapped_column(REAL)
    fix: Mapped[str | None] = mapped_column(String(10))
    position_at: Mapped[datetime | None]
    written_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


STATE_TABLE = cast("Table", DeviceStateRow.__table__)
