"""Ledger: custody entries, their sequence, tree hashes and signed checkpoints.

Every table but the ledger_pending queue is append-only (cw_refuse_change triggers).

Revision ID: 0007_ledger
Revises: 0006_search_sort
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from citywitness.migrations import append_only

revision: str = "0007_ledger"
down_revision: str | Sequence[str] | None = "0006_search_sort"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("ledger_entries", "ledger_leaves", "ledger_tree_hashes", "ledger_checkpoints")


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=60), nullable=False),
        sa.Column("object_id", sa.String(length=80), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(
        "ix_ledger_entries_object", "ledger_entries", ["object_type", "object_id", "id"]
    )
    op.create_table(
        "ledger_pending",
        sa.Column("entry_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_ledger_pending")),
    )
    op.create_table(
        "ledger_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_leaves_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_ledger_leaves")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_ledger_leaves_entry_id")),
    )
    op.create_table(
        "ledger_tree_hashes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index", name=op.f("pk_ledger_tree_hashes")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoints")),
        sa.UniqueConstraint("size", name=op.f("uq_ledger_checkpoints_size")),
    )
    append_only.protect(*APPEND_ONLY)


def downgrade() -> None:
    for table in ("ledger_checkpoints", "ledger_tree_hashes", "ledger_leaves", "ledger_pending"):
        op.drop_table(table)
    op.drop_index("ix_ledger_entries_object", table_name="ledger_entries")
    op.drop_table("ledger_entries")
