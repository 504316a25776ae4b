"""Departments, units and officers."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class DepartmentKind(enum.StrEnum):
    PUBLIC_SECURITY = "public_security"
    TRAFFIC_POLICE = "traffic_police"
    URBAN_MANAGEMENT = "urban_management"
    EMERGENCY_MANAGEMENT = "emergency_management"
    OTHER = "other"


class Department(UUIDPrimaryKey, CreatedAt, Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[DepartmentKind] = mapped_column(String(40))
    reason_required_for_playback: Mapped[bool] = mapped_column(default=False)


class Unit(UUIDPrimaryKey, CreatedAt, Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("department_id", "code"),)

    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))


class Officer(UUIDPrimaryKey, CreatedAt, Base):
    __tablename__ = "officers"

    badge_number: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), index=True)
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
