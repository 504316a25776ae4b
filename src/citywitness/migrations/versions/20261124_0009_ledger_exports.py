"""Ledger: court export packages requested over the API (evidence_exports, and the
append-only evidence_export_items).

Revision ID: 0009_ledger_exports
Revises: 0008_ledger_witness
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from citywitness.migrations import append_only

revision: str = "0009_ledger_exports"
down_revision: str | Sequence[str] | None = "0008_ledger_witness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'queued', 'running', 'done', 'failed', 'discarded', 'expired'"


def upgrade() -> None:
    op.create_table(
        "evidence_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("derivatives", sa.Boolean(), nullable=False),
        sa.Column("query", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("package_sha256", sa.String(length=64), nullable=True),
        sa.Column("package_size", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_evidence_exports_status")),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_evidence_exports_requested_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_exports")),
    )
    op.create_index(
        "ix_evidence_exports_requester",
        "evidence_exports",
        ["requested_by", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_evidence_exports_status_expiry",
        "evidence_exports",
        ["status", "expires_at"],
        unique=False,
    )
    op.create_table(
        "evidence_export_items",
        sa.Column("export_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_evidence_export_items_evidence_id_evidence_items"),
        ),
        sa.ForeignKeyConstraint(
            ["export_id"],
            ["evidence_exports.id"],
            name=op.f("fk_evidence_export_items_export_id_evidence_exports"),
        ),
        sa.PrimaryKeyConstraint("export_id", "position", name=op.f("pk_evidence_export_items")),
        sa.UniqueConstraint(
            "export_id",
            "evidence_id",
            name=op.f("uq_evidence_export_items_export_id_evidence_id"),
        ),
    )
    op.create_index(
        op.f("ix_evidence_export_items_evidence_id"),
        "evidence_export_items",
        ["evidence_id"],
        unique=False,
    )
    append_only.protect("evidence_export_items")


def downgrade() -> None:
    op.drop_table("evidence_export_items")
    op.drop_table("evidence_exports")
