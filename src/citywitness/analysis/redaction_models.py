"""Redactions of evidence items: the request, its tracks (what to cover, and when), and the
redacted derivative it produced.

The original is never touched: the derivative is a new object in the content store whose
hash, with the hash of the plan that made it, is recorded here and in the ledger.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class RedactionState(enum.StrEnum):
    DETECTING = "detecting"  # the detection job is queued or running
    REVIEW = "review"  # tracks proposed; a reviewer adjusts them, then asks for a render
    RENDERING = "rendering"  # the render job is queued or running; the plan is frozen
    RENDERED = "rendered"  # the derivative exists; it may be published
    PUBLISHED = "published"  # approved for release; final
    FAILED = "failed"  # a job gave up (error_code says why)


class Redaction(UUIDPrimaryKey, CreatedAt, Base):
    __tablename__ = "redactions"
    __table_args__ = (Index("ix_redactions_evidence_created", "evidence_id", "created_at"),)

    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), index=True)
    state: Mapped[RedactionState] = mapped_column(String(12))
    mode: Mapped[str] = mapped_column(String(8))
    faces: Mapped[bool] = mapped_column(Boolean)
    plates: Mapped[bool] = mapped_column(Boolean)
    every: Mapped[int] = mapped_column(Integer)
    mute: Mapped[list[list[float]]] = mapped_column(JSONB, default=list, server_default="[]")
    original_sha256: Mapped[str] = mapped_column(String(64))
    plan_sha256: Mapped[str | None] = mapped_column(String(64))
    derivative_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    derivative_size: Mapped[int | None] = mapped_column(BigInteger)
    frames: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    error_code: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    published_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None]
    detected_at: Mapped[datetime | None]
    rendered_at: Mapped[datetime | None]


class RedactionTrack(UUIDPrimaryKey, CreatedAt, Base):
    """One thing to cover: ``keyframes`` are [{"t", "x", "y", "w", "h"}] (normalised boxes)."""

    __tablename__ = "redaction_tracks"
    __table_args__ = (Index("ix_redaction_tracks_redaction", "redaction_id", "start_s"),)

    redaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("redactions.id"))
    label: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    keyframes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    removed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    changed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime | None]
