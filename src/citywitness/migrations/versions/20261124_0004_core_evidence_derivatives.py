"""evidence core: evidence_derivatives (thumbnails and browser proxies of items)

Revision ID: 0004_core_derivatives
Revises: 0003_evidence
Create Date: 2026-11-24 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_core_derivatives"
down_revision: str | Sequence[str] | None = "0003_evidence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_derivatives",
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=120), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_evidence_derivatives_evidence_id_evidence_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_derivatives")),
        sa.UniqueConstraint(
            "evidence_id", "kind", name=op.f("uq_evidence_derivatives_evidence_id_kind")
        ),
    )
    op.create_index(
        op.f("ix_evidence_derivatives_evidence_id"),
        "evidence_derivatives",
        ["evidence_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_evidence_derivatives_sha256"), "evidence_derivatives", ["sha256"], unique=False
    )


def downgrade() -> None:
    op.drop_table("evidence_derivatives")
