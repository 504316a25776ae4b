"""Export packages requested over the API: one stateful row per export, and its item list.

- `evidence_exports` is stateful: an export moves queued -> running -> done | failed, and a
  finished one becomes discarded (DELETE) or expired (the cleanup job).  The package itself is
  an object in the encrypted content store (`package_sha256`); discarding or expiring it
  crypto-shreds that object.  The row stays as the record of what was exported, by whom, why.
- `evidence_export_items` is append-only (a trigger refuses UPDATE, DELETE, TRUNCATE): the items
  fixed when the export was requested (a query is resolved then), in package order.

Who exported what, and why, is also in the audit trail and, per item, in the ledger
(`evidence.exported`, with the export id).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DISCARDED = "discarded"
    EXPIRED = "expired"


STATUSES = ", ".join(f"'{s.value}'" for s in ExportStatus)
APPEND_ONLY_TABLES = ("evidence_export_items",)


class Export(UUIDPrimaryKey, CreatedAt, Base):
    __tablename__ = "evidence_exports"
    __table_args__ = (
        CheckConstraint(f"status IN ({STATUSES})", name="status"),
        Index("ix_evidence_exports_requester", "requested_by", "created_at", "id"),
        Index("ix_evidence_exports_status_expiry", "status", "expires_at"),
    )

    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    derivatives: Mapped[bool] = mapped_column(default=False)
    query: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    item_count: Mapped[int]
    status: Mapped[ExportStatus] = mapped_column(String(16), default=ExportStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    error_code: Mapped[str | None] = mapped_column(String(60))
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    package_size: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class ExportedItem(Base):
    __tablename__ = "evidence_export_items"
    __table_args__ = (UniqueConstraint("export_id", "evidence_id"),)

    export_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evidence_exports.id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id"), index=True)
