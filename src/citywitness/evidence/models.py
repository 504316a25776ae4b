"""Evidence items and what governs their life: categories, holds, deletion, certificates."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class EvidenceKind(enum.StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    PHOTO = "photo"
    DOCUMENT = "document"


class EvidenceState(enum.StrEnum):
    LIVE = "live"  # a recording session still growing (issue 5)
    ACTIVE = "active"
    PENDING_DELETION = "pending_deletion"
    DESTROYED = "destroyed"


class IngestChannel(enum.StrEnum):
    TUS = "tus"
    DOCK = "dock"
    LIVE = "live"
    DERIVATIVE = "derivative"


class Category(UUIDPrimaryKey, CreatedAt, Base):
    """What a recording is; its retention rule.  `retention_days` NULL means permanent."""

    __tablename__ = "evidence_categories"

    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))
    evidentiary: Mapped[bool] = mapped_column(default=False)
    retention_days: Mapped[int | None]
    legal_basis: Mapped[str] = mapped_column(String(500), default="")
    default_classification: Mapped[int] = mapped_column(default=1)


class EvidenceItem(UUIDPrimaryKey, CreatedAt, Base):
    __tablename__ = "evidence_items"
    __table_args__ = (
        UniqueConstraint("department_id", "sha256"),
        Index("ix_evidence_items_captured", "captured_start", "id"),
        Index("ix_evidence_items_created", "created_at", "id"),
        # Search (migration 0006_search_sort): one department's items in order, an
        # officer's items in order, and the longest capture interval (a window's bound).
        Index("ix_evidence_items_department_created", "department_id", "created_at", "id"),
        Index("ix_evidence_items_department_captured", "department_id", "captured_start", "id"),
        Index("ix_evidence_items_officer_created", "officer_id", "created_at", "id"),
        Index(
            "ix_evidence_items_capture_length",
            text("(COALESCE(captured_end, captured_start) - captured_start)"),
        ),
        Index("ix_evidence_items_tags", "tags", postgresql_using="gin"),
        Index("ix_evidence_items_search", "search_vector", postgresql_using="gin"),
        Index(
            "ix_evidence_items_box",
            text("box(point(min_lon, min_lat), point(max_lon, max_lat))"),
            "department_id",
            postgresql_using="gist",
        ),
    )

    kind: Mapped[EvidenceKind] = mapped_column(String(20))
    state: Mapped[EvidenceState] = mapped_column(String(20), default=EvidenceState.ACTIVE)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    original_filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(120))
    container: Mapped[str | None] = mapped_column(String(60))
    video_codec: Mapped[str | None] = mapped_column(String(60))
    audio_codec: Mapped[str | None] = mapped_column(String(60))
    duration_seconds: Mapped[float | None]
    width: Mapped[int | None]
    height: Mapped[int | None]
    media_facts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    captured_start: Mapped[datetime | None]
    captured_end: Mapped[datetime | None]
    recorder_serial: Mapped[str | None] = mapped_column(String(80), index=True)
    # Indexed by the (officer, created) and (department, ...) indexes in __table_args__.
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officers.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    category_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("evidence_categories.id"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[int] = mapped_column(default=1)
    gps_track: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    min_lat: Mapped[float | None]
    max_lat: Mapped[float | None]
    min_lon: Mapped[float | None]
    max_lon: Mapped[float | None]
    # Text the analyzers found (transcripts, plate text), set by analysis; weighs least.
    analysis_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    search_vector: Mapped[str | None] = mapped_column(TSVECTOR)
    retain_until: Mapped[datetime | None]
    ingest_channel: Mapped[IngestChannel] = mapped_column(String(20))
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    derived_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("evidence_items.id"))
    destroyed_at: Mapped[datetime | None]


class LegalHold(UUIDPrimaryKey, CreatedAt, Base):
    """A hold blocks deletion of an item until it is released."""

    __tablename__ = "evidence_legal_holds"

    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    placed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None]
    released_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    release_reason: Mapped[str | None] = mapped_column(String(500))


class DeletionState(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"  # manual: waits for a second approver
    IN_REVIEW = "in_review"  # approved or expired by policy: waits out the review window
    CANCELLED = "cancelled"
    DONE = "done"


class DeletionRequest(UUIDPrimaryKey, CreatedAt, Base):
    """The deletion queue: an item waits out its review window before it is destroyed."""

    __tablename__ = "evidence_deletion_requests"

    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # "retention" | "manual"
    state: Mapped[DeletionState] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    policy: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    review_until: Mapped[datetime | None]
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]
    executed_at: Mapped[datetime | None]


class DestructionCertificate(UUIDPrimaryKey, CreatedAt, Base):
    """Proof of destruction: append-only (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "evidence_destruction_certificates"

    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id"), unique=True)
    deletion_request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evidence_deletion_requests.id")
    )
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    policy: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[uuid.UUID | None]
    approved_by: Mapped[uuid.UUID | None]
    # NULL: the content key was kept because other live items (`content_retained_for`,
    # their ids) still reference the same stored object; it is shredded with the last one.
    key_destroyed_at: Mapped[datetime | None]
    content_retained_for: Mapped[list[str] | None] = mapped_column(JSONB)
    bytes_destroyed_at: Mapped[datetime | None]
    destroyed_at: Mapped[datetime]


class UploadState(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    TERMINATED = "terminated"
    EXPIRED = "expired"


class Upload(UUIDPrimaryKey, CreatedAt, Base):
    """A tus upload in flight: the bytes live in the storage engine's staging area."""

    __tablename__ = "evidence_uploads"

    storage_upload_id: Mapped[str] = mapped_column(String(80), unique=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    upload_length: Mapped[int] = mapped_column(BigInteger)
    upload_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)
    expected_sha256: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[UploadState] = mapped_column(String(20), default=UploadState.OPEN)
    expires_at: Mapped[datetime]
    evidence_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("evidence_items.id"))


class DepartmentQuota(Base):
    """Bytes a department may store; no row means no quota beyond the store's capacity."""

    __tablename__ = "evidence_department_quotas"

    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    quota_bytes: Mapped[int] = mapped_column(BigInteger)
