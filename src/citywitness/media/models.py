"""Live recording sessions, their segments, integrity reports and live viewers."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class SegmentFormat(enum.StrEnum):
    FMP4 = "fmp4"  # an init segment (ftyp+moov), then moof+mdat fragments
    TS = "ts"  # self-contained MPEG-TS segments


class SessionState(enum.StrEnum):
    LIVE = "live"  # accepting segments
    SEALING = "sealing"  # ended; the segments are being joined into the item's content
    SEALED = "sealed"  # the evidence item holds the joined content
    FAILED = "failed"  # could not be sealed (see the session's reports)


class ReportKind(enum.StrEnum):
    """What the platform noticed about a session's segment stream (docs/media.md)."""

    GAP = "gap"  # segments missing between the last one seen and this one
    LATE = "late"  # a segment arrived after a later one (reordering), accepted
    CONFLICT = "conflict"  # a second, different segment for a sequence number: refused
    CHAIN_BROKEN = "chain_broken"  # the previous-segment hash does not match: refused
    DIGEST_MISMATCH = "digest_mismatch"  # the bytes do not hash to the declared SHA-256
    NOT_MEDIA = "not_media"  # the bytes are not a segment of the session's format
    UNFILLED_GAP = "unfilled_gap"  # at seal: sequence numbers that never arrived
    SEAL_FAILED = "seal_failed"  # the session could not be sealed


class LiveSession(UUIDPrimaryKey, CreatedAt, Base):
    """One recording session of one recorder: one evidence item, growing while live."""

    __tablename__ = "media_sessions"
    __table_args__ = (Index("ix_media_sessions_state_last", "state", "last_segment_at"),)

    recorder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recorders.id"), index=True)
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), index=True)
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officers.id"))
    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id"), unique=True)
    format: Mapped[SegmentFormat] = mapped_column(String(10))
    state: Mapped[SessionState] = mapped_column(String(20), default=SessionState.LIVE)
    genesis: Mapped[str] = mapped_column(String(64))
    init_sha256: Mapped[str | None] = mapped_column(String(64))
    init_size: Mapped[int] = mapped_column(Integer, default=0)
    target_duration: Mapped[int] = mapped_column(Integer)
    codec_info: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    started_at: Mapped[datetime]
    last_segment_at: Mapped[datetime]
    segments: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_seconds: Mapped[float] = mapped_column(default=0.0)
    max_seq: Mapped[int] = mapped_column(Integer, default=-1)
    contiguous_seq: Mapped[int] = mapped_column(Integer, default=-1)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(20))
    sealed_at: Mapped[datetime | None]
    final_sha256: Mapped[str | None] = mapped_column(String(64))


class Segment(Base):
    """One accepted segment (append-only): its place in the session's hash chain."""

    __tablename__ = "media_segments"

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("media_sessions.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    prev_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    duration_seconds: Mapped[float]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime]


class SessionReport(UUIDPrimaryKey, CreatedAt, Base):
    """Something noticed about a session's stream (append-only): gaps, forgeries, ..."""

    __tablename__ = "media_reports"
    __table_args__ = (Index("ix_media_reports_session_created", "session_id", "created_at"),)

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("media_sessions.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    kind: Mapped[ReportKind] = mapped_column(String(20))
    seq: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class LiveView(UUIDPrimaryKey, CreatedAt, Base):
    """One person watching one session live: audited once when it starts.

    A view lasts while its viewer keeps reloading the playlist (`last_seen_at`); after
    `media.view_idle_seconds` without one, the next request starts (and audits) a new view.
    """

    __tablename__ = "media_live_views"
    __table_args__ = (Index("ix_media_live_views_viewer", "session_id", "user_id", "last_seen_at"),)

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("media_sessions.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    last_seen_at: Mapped[datetime]
