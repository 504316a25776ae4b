"""Commands to recorders, their transitions (append-only) and departments' consent policies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey

OPEN_STATES_SQL = "state IN ('pending', 'sent', 'acknowledged')"


class DeviceCommand(UUIDPrimaryKey, CreatedAt, Base):
    """One command to one recorder; `state` is its latest transition (see DeviceCommandEvent)."""

    __tablename__ = "device_commands"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('start_recording', 'stop_recording', 'request_live_view', "
            "'text_message', 'locate_now')",
            name="known_kind",
        ),
        CheckConstraint(
            "state IN ('pending', 'sent', 'acknowledged', 'succeeded', 'failed', 'rejected', "
            "'timed_out', 'cancelled')",
            name="known_state",
        ),
        Index("ix_device_commands_recorder_created", "recorder_id", "created_at", "id"),
        Index(
            "ix_device_commands_open_expires",
            "expires_at",
            postgresql_where=text(OPEN_STATES_SQL),
        ),
        Index(
            "ix_device_commands_undelivered",
            "recorder_id",
            "created_at",
            postgresql_where=text("state IN ('pending', 'sent')"),
        ),
    )

    recorder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recorders.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    consent_required: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(String(500))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class DeviceCommandEvent(UUIDPrimaryKey, Base):
    """One transition of a command (append-only): who or what moved it, when, from where."""

    __tablename__ = "device_command_events"
    __table_args__ = (Index("ix_device_command_events_command_at", "command_id", "at"),)

    command_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device_commands.id"))
    at: Mapped[datetime]
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(10))
    transport: Mapped[str | None] = mapped_column(String(8))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    detail: Mapped[str | None] = mapped_column(String(500))


class DeviceCommandPolicy(Base):
    """A department's own command policy (without a row: `devices.commands` settings)."""

    __tablename__ = "device_command_policies"
    __table_args__ = (
        CheckConstraint(
            "live_view_consent IN ('always', 'never', 'when_not_recording')",
            name="known_live_view_consent",
        ),
    )

    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    live_view_consent: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
