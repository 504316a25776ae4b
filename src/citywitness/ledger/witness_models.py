"""Tables of the ledger's outside checks: witnesses, their cosignatures, fork incidents.

Cosignatures, incidents and their acknowledgements are append-only (a trigger refuses
UPDATE, DELETE and TRUNCATE).  Checkpoints are named by (size, root), the pair a
cosignature or a fork report is about, whether or not this log ever signed it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base


class Witness(Base):
    """A registered witness: its name and cosignature verifier key (public)."""

    __tablename__ = "ledger_witnesses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    vkey: Mapped[str] = mapped_column(String(400), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )


class Cosignature(Base):
    """One witness's cosignature/v1 on one checkpoint of this log (append-only)."""

    __tablename__ = "ledger_cosignatures"
    __table_args__ = (
        UniqueConstraint("witness_id", "size", "root"),
        Index("ix_ledger_cosignatures_size", "size"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    witness_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledger_witnesses.id", ondelete="RESTRICT")
    )
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Incident(Base):
    """Something that breaks the log's promise (a fork), recorded for good (append-only)."""

    __tablename__ = "ledger_incidents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20))
    size: Mapped[int | None] = mapped_column(BigInteger)
    summary: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reported_by: Mapped[str | None] = mapped_column(String(200))
    detected_at: Mapped[datetime] = mapped_column(server_default=func.now())


class IncidentAcknowledgement(Base):
    """An administrator has looked into an incident (append-only; one per incident)."""

    __tablename__ = "ledger_incident_acknowledgements"

    incident_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledger_incidents.id", ondelete="RESTRICT"), primary_key=True
    )
    acknowledged_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    note: Mapped[str] = mapped_column(String(1000))
    acknowledged_at: Mapped[datetime] = mapped_column(server_default=func.now())
