"""Geofences, where each recorder is relative to them, and the crossings (append-only)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, CheckConstraint, Double, ForeignKey, Index, String, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class GeofenceRule(enum.StrEnum):
    STAY_INSIDE = "stay_inside"  # a patrol area: leaving it is the breach
    RESTRICTED = "restricted"  # a restricted area: entering it is the breach


class Geofence(UUIDPrimaryKey, CreatedAt, Base):
    """A zone (GeoJSON Polygon or MultiPolygon) with a rule, for a department's recorders."""

    __tablename__ = "geofences"
    __table_args__ = (
        CheckConstraint("rule IN ('stay_inside', 'restricted')", name="known_rule"),
        Index("ix_geofences_department_active", "department_id", "active"),
    )

    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    rule: Mapped[str] = mapped_column(String(20))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorder_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(Uuid))
    """None: every recorder of the department; otherwise only these."""
    severity: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class GeofencePresence(Base):
    """Whether a recorder was last seen inside a zone: crossings are edges, not levels."""

    __tablename__ = "geofence_presence"

    geofence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("geofences.id", ondelete="CASCADE"), primary_key=True
    )
    recorder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recorders.id"), primary_key=True)
    inside: Mapped[bool]
    position_at: Mapped[datetime]
    changed_at: Mapped[datetime | None]


class GeofenceCrossing(UUIDPrimaryKey, Base):
    """A recorder entered or left a zone (append-only); `breach` per the zone's rule."""

    __tablename__ = "geofence_crossings"
    __table_args__ = (
        Index("ix_geofence_crossings_geofence_at", "geofence_id", "at"),
        Index("ix_geofence_crossings_recorder_at", "recorder_id", "at"),
    )

    geofence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("geofences.id"))
    recorder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recorders.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officers.id"))
    direction: Mapped[str] = mapped_column(String(5))
    breach: Mapped[bool]
    at: Mapped[datetime]
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    recorded_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
