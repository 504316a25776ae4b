"""The ledger's tables.  Everything but the `ledger_pending` queue is append-only (a trigger
refuses UPDATE, DELETE and TRUNCATE).

- `ledger_entries`: one custody event each, written in the transaction of the change it records:
  its canonical JSON leaf and leaf hash.  No index yet.
- `ledger_pending`: ids of entries not yet sequenced (a queue the sequencer drains).
- `ledger_leaves`: the sequencer's dense 0-based index for each entry (and its leaf hash, so a
  level-0 tile is one range read).
- `ledger_tree_hashes`: the hash of every complete subtree of 256**k leaves (k >= 1): the
  entries of the tlog-tiles tiles above level 0.  Proofs and tiles read these, never all leaves.
- `ledger_checkpoints`: every signed checkpoint (one per tree size).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base

APPEND_ONLY_TABLES = ("ledger_entries", "ledger_leaves", "ledger_tree_hashes", "ledger_checkpoints")


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_object", "object_type", "object_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    kind: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(80))
    department_id: Mapped[uuid.UUID | None]
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerPending(Base):
    __tablename__ = "ledger_pending"

    entry_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class LedgerLeaf(Base):
    __tablename__ = "ledger_leaves"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.id"), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerTreeHash(Base):
    __tablename__ = "ledger_tree_hashes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[bytes] = mapped_column(LargeBinary)
