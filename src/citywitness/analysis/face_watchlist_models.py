"""Face watch lists: persons of interest per department, their enrolled face embeddings,
and each department's switch for face matching.

The enrolment photo itself is not kept: only its 128-d embedding, its SHA-256 (so the copy
in the case file can be shown to be the one enrolled) and where the face was in it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REAL
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class FaceWatchPerson(UUIDPrimaryKey, CreatedAt, Base):
    """A person on a department's face watch list, until ``expires_at`` or removal."""

    __tablename__ = "face_watch_persons"
    __table_args__ = (
        Index("ix_face_watch_persons_department_expires", "department_id", "expires_at"),
    )

    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    label: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    added_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class FaceWatchPhoto(UUIDPrimaryKey, CreatedAt, Base):
    """One enrolled photo of a person: the face's embedding, never the picture."""

    __tablename__ = "face_watch_photos"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("face_watch_persons.id", ondelete="CASCADE"), index=True
    )
    embedding: Mapped[list[float]] = mapped_column(ARRAY(REAL))
    photo_sha256: Mapped[str] = mapped_column(String(64))
    face_box: Mapped[dict[str, Any]] = mapped_column(JSONB)
    detector_score: Mapped[float] = mapped_column(Float)
    added_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


class FaceMatchingPolicy(Base):
    """Whether a department matches faces against its watch list (no row: off)."""

    __tablename__ = "face_matching_policies"

    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    enabled: Mapped[bool]
    changed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
