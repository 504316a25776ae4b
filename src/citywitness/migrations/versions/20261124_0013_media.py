"""Media: live recording sessions, their segments (hash chain), integrity reports, viewers.

`media_segments` and `media_reports` are append-only (cw_refuse_change triggers).

Revision ID: 0013_media
Revises: 0012_alerts
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from citywitness.migrations import append_only

revision: str = "0013_media"
down_revision: str | Sequence[str] | None = "0012_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("media_segments", "media_reports")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "media_sessions",
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=True),
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("genesis", sa.String(length=64), nullable=False),
        sa.Column("init_sha256", sa.String(length=64), nullable=True),
        sa.Column("init_size", sa.Integer(), nullable=False),
        sa.Column("target_duration", sa.Integer(), nullable=False),
        sa.Column("codec_info", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_segment_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("max_seq", sa.Integer(), nullable=False),
        sa.Column("contiguous_seq", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("final_sha256", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        _fk("media_sessions", "department_id", "departments"),
        _fk("media_sessions", "evidence_id", "evidence_items"),
        _fk("media_sessions", "officer_id", "officers"),
        _fk("media_sessions", "recorder_id", "recorders"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_sessions")),
        sa.UniqueConstraint("evidence_id", name=op.f("uq_media_sessions_evidence_id")),
    )
    op.create_index(op.f("ix_media_sessions_department_id"), "media_sessions", ["department_id"])
    op.create_index(op.f("ix_media_sessions_recorder_id"), "media_sessions", ["recorder_id"])
    op.create_index("ix_media_sessions_state_last", "media_sessions", ["state", "last_segment_at"])
    op.create_table(
        "media_segments",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        _fk("media_segments", "session_id", "media_sessions"),
        sa.PrimaryKeyConstraint("session_id", "seq", name=op.f("pk_media_segments")),
    )
    op.create_index(op.f("ix_media_segments_sha256"), "media_segments", ["sha256"])
    op.create_table(
        "media_reports",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        _fk("media_reports", "department_id", "departments"),
        _fk("media_reports", "session_id", "media_sessions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_reports")),
    )
    op.create_index(
        "ix_media_reports_session_created", "media_reports", ["session_id", "created_at"]
    )
    op.create_table(
        "media_live_views",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        _fk("media_live_views", "department_id", "departments"),
        _fk("media_live_views", "session_id", "media_sessions"),
        _fk("media_live_views", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_live_views")),
    )
    op.create_index(
        "ix_media_live_views_viewer", "media_live_views", ["session_id", "user_id", "last_seen_at"]
    )
    append_only.protect(*APPEND_ONLY)


def downgrade() -> None:
    op.drop_table("media_live_views")
    op.drop_table("media_reports")
    op.drop_table("media_segments")
    op.drop_table("media_sessions")
