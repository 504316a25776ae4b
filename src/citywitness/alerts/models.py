"""Alerts, their lifecycle (append-only events), what raised them, and their deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey

OPEN_STATES = ("new", "acknowledged", "dispatched")


class Alert(UUIDPrimaryKey, CreatedAt, Base):
    """Something an operator must see and act on.  `dedup_key` is unique while open."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(
            "severity IN ('info', 'low', 'medium', 'high', 'critical')", name="known_severity"
        ),
        CheckConstraint(
            "state IN ('new', 'acknowledged', 'dispatched', 'resolved', 'false')",
            name="known_state",
        ),
        CheckConstraint("snapshot_sha256 ~ '^[0-9a-f]{64}$'", name="snapshot_is_sha256"),
        Index(
            "uq_alerts_open_dedup",
            "dedup_key",
            unique=True,
            postgresql_where=text("state IN ('new', 'acknowledged', 'dispatched')"),
        ),
        Index("ix_alerts_department_occurred", "department_id", "occurred_at", "id"),
        Index("ix_alerts_occurred", "occurred_at", "id"),
    )

    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), default="new")
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("departments.id"))
    recorder_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("recorders.id"))
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officers.id"))
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    occurred_at: Mapped[datetime]
    last_occurred_at: Mapped[datetime]
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    evidence_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class AlertEvent(Base):
    """One step of an alert's life (append-only): raised, repeated, acknowledged, ..."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_alert_id", "alert_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id"))
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class AlertTrigger(Base):
    """What raised (or repeated) an alert: one row per source, so a source counts once."""

    __tablename__ = "alert_triggers"
    __table_args__ = (UniqueConstraint("source_kind", "source_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id"), index=True)
    source_kind: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Webhook(UUIDPrimaryKey, CreatedAt, Base):
    """A configured receiver of alerts (JSON, signed with HMAC-SHA256 with its secret)."""

    __tablename__ = "alert_webhooks"

    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("departments.id"))
    min_severity: Mapped[str] = mapped_column(String(10), default="info")
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class AlertDelivery(UUIDPrimaryKey, CreatedAt, Base):
    """Taking one alert event to one target (a webhook, a recorder) until done or given up."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_event_id", "channel", "target_id"),
        CheckConstraint("channel IN ('webhook', 'recorder')", name="known_channel"),
        CheckConstraint(
            "state IN ('pending', 'delivered', 'failed', 'expired')", name="known_state"
        ),
        Index(
            "ix_alert_deliveries_due",
            "channel",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
        ),
    )

    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id"), index=True)
    alert_event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alert_events.id"))
    channel: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class DeliveryAttempt(Base):
    """One try of a delivery (append-only): when, how it went."""

    __tablename__ = "alert_delivery_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alert_deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    ok: Mapped[bool]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
