"""Explicit grants: access to one object beyond the department scope (cases, sharing)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class Grant(UUIDPrimaryKey, CreatedAt, Base):
    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint(
            "(grantee_user_id IS NULL) <> (grantee_department_id IS NULL)", name="one_grantee"
        ),
        Index("ix_grants_object", "object_type", "object_id"),
    )

    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[uuid.UUID]
    permission: Mapped[str] = mapped_column(String(60))
    grantee_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    grantee_department_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("departments.id"), index=True
    )
    granted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
