"""Analysis runs (one analyzer pass over one evidence item) and the findings they store."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REAL
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class RunTrigger(enum.StrEnum):
    UPLOAD = "upload"  # started automatically for new evidence (settings.analysis.on_upload)
    LIVE = "live"  # a live session's segments (one run per session)
    MANUAL = "manual"  # started by a person through the API


class RunState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunState.DONE, RunState.FAILED, RunState.CANCELLED)


class Review(enum.StrEnum):
    CONFIRMED = "confirmed"
    FALSE = "false"


class AnalysisRun(UUIDPrimaryKey, CreatedAt, Base):
    """One pass of some analyzers over one evidence item; `progress_s` is its resume point."""

    __tablename__ = "analysis_runs"
    __table_args__ = (Index("ix_analysis_runs_evidence_created", "evidence_id", "created_at"),)

    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), index=True)
    analyzers: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    trigger: Mapped[RunTrigger] = mapped_column(String(10))
    state: Mapped[RunState] = mapped_column(String(10), default=RunState.QUEUED)
    progress_s: Mapped[float] = mapped_column(Float, default=0.0)
    duration_s: Mapped[float | None] = mapped_column(Float)
    findings_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class StoredFinding(Base):
    """A finding as stored: what, where in the media, how sure, and which model said so."""

    __tablename__ = "analysis_findings"
    __table_args__ = (
        Index("ix_analysis_findings_evidence_offset", "evidence_id", "offset_s"),
        Index("ix_analysis_findings_analyzer_label", "analyzer", "label"),
        Index("ix_analysis_findings_run", "run_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("analysis_runs.id"))
    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    segment_sha256: Mapped[str | None] = mapped_column(Text)
    analyzer: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    offset_s: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    box: Mapped[dict[str, float] | None] = mapped_column(JSONB)
    confidence: Mapped[float] = mapped_column(Float)
    model_name: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(Text)
    model_sha256: Mapped[str] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    vector: Mapped[list[float] | None] = mapped_column(ARRAY(REAL))
    alert_kind: Mapped[str | None] = mapped_column(Text)
    # The JPEG of an alerting finding in the content store (kept while the item lives).
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    review: Mapped[Review | None] = mapped_column(Text)
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AnalysedSegment(Base):
    """A live segment the live analyzers have processed: the marker that makes a retry of
    the segment's job a no-op (its findings committed in the same transaction)."""

    __tablename__ = "analysis_segments"

    evidence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evidence_items.id"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_sha256: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("analysis_runs.id"))
    findings_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
