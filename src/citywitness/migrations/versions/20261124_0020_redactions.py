"""Redactions: requests, their tracks (what to cover, when) and the redacted derivative.

Revision ID: 0020_redactions
Revises: 0019_behaviour
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020_redactions"
down_revision: str | Sequence[str] | None = "0019_behaviour"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _created_at() -> sa.Column[datetime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _when(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _redactions() -> None:
    op.create_table(
        "redactions",
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("faces", sa.Boolean(), nullable=False),
        sa.Column("plates", sa.Boolean(), nullable=False),
        sa.Column("every", sa.Integer(), nullable=False),
        sa.Column(
            "mute", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("plan_sha256", sa.String(length=64), nullable=True),
        sa.Column("derivative_sha256", sa.String(length=64), nullable=True),
        sa.Column("derivative_size", sa.BigInteger(), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        _when("published_at"),
        _when("detected_at"),
        _when("rendered_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        _created_at(),
        _fk("redactions", "department_id", "departments"),
        _fk("redactions", "evidence_id", "evidence_items"),
        _fk("redactions", "published_by", "users"),
        _fk("redactions", "requested_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redactions")),
    )
    op.create_index(op.f("ix_redactions_department_id"), "redactions", ["department_id"])
    op.create_index(op.f("ix_redactions_derivative_sha256"), "redactions", ["derivative_sha256"])
    op.create_index("ix_redactions_evidence_created", "redactions", ["evidence_id", "created_at"])


def _tracks() -> None:
    op.create_table(
        "redaction_tracks",
        sa.Column("redaction_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("keyframes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("removed", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        _when("changed_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        _created_at(),
        _fk("redaction_tracks", "changed_by", "users"),
        _fk("redaction_tracks", "redaction_id", "redactions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redaction_tracks")),
    )
    op.create_index(
        "ix_redaction_tracks_redaction", "redaction_tracks", ["redaction_id", "start_s"]
    )


def upgrade() -> None:
    _redactions()
    _tracks()


def downgrade() -> None:
    op.drop_table("redaction_tracks")
    op.drop_table("redactions")
