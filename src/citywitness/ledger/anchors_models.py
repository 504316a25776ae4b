"""Tables of time stamps and anchors on checkpoints, and how their jobs are doing.

Time-stamp tokens and anchor receipts are append-only (a trigger refuses UPDATE, DELETE
and TRUNCATE).  `ledger_anchoring_status` is the one mutable row per job that /readyz
reads: when it last succeeded and since when it has been failing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Integer, LargeBinary, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base


class CheckpointTimestamp(Base):
    """An RFC 3161 time stamp on one checkpoint body: the TSA's whole reply (DER)."""

    __tablename__ = "ledger_timestamps"
    __table_args__ = (UniqueConstraint("size", "root"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    tsa_url: Mapped[str] = mapped_column(String(500))
    token: Mapped[bytes] = mapped_column(LargeBinary)
    gen_time: Mapped[datetime]
    serial_number: Mapped[str] = mapped_column(String(60))
    policy: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AnchorReceiptRecord(Base):
    """An external anchor's receipt for one checkpoint (its transaction reference)."""

    __tablename__ = "ledger_anchor_receipts"
    __table_args__ = (UniqueConstraint("anchor", "size", "root"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    anchor: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    reference: Mapped[str] = mapped_column(String(200))
    anchored_at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AnchoringStatus(Base):
    """How one outside-check job is doing ("timestamps", "anchor:<name>"); mutable."""

    __tablename__ = "ledger_anchoring_status"

    job: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
