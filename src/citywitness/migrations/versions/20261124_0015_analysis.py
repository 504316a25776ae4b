"""Analysis: runs, findings (with model provenance), analysed live segments, and the
analysis text of an evidence item (transcripts, plate text) that full-text search indexes.

Revision ID: 0015_analysis
Revises: 0014_device_commands
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_analysis"
down_revision: str | Sequence[str] | None = "0014_device_commands"
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


def _runs() -> None:
    op.create_table(
        "analysis_runs",
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("analyzers", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("progress_s", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("findings_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        _created_at(),
        _fk("analysis_runs", "department_id", "departments"),
        _fk("analysis_runs", "evidence_id", "evidence_items"),
        _fk("analysis_runs", "requested_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_runs")),
    )
    op.create_index(op.f("ix_analysis_runs_department_id"), "analysis_runs", ["department_id"])
    op.create_index(
        "ix_analysis_runs_evidence_created", "analysis_runs", ["evidence_id", "created_at"]
    )


def _findings() -> None:
    op.create_table(
        "analysis_findings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("segment_sha256", sa.Text(), nullable=True),
        sa.Column("analyzer", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("offset_s", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("box", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("model_name", sa.Text(), nullable=False),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("model_sha256", sa.Text(), nullable=False),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("vector", postgresql.ARRAY(postgresql.REAL()), nullable=True),
        sa.Column("alert_kind", sa.Text(), nullable=True),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        _fk("analysis_findings", "department_id", "departments"),
        _fk("analysis_findings", "evidence_id", "evidence_items"),
        _fk("analysis_findings", "reviewed_by", "users"),
        _fk("analysis_findings", "run_id", "analysis_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_findings")),
    )
    op.create_index(
        "ix_analysis_findings_evidence_offset", "analysis_findings", ["evidence_id", "offset_s"]
    )
    op.create_index(
        "ix_analysis_findings_analyzer_label", "analysis_findings", ["analyzer", "label"]
    )
    op.create_index("ix_analysis_findings_run", "analysis_findings", ["run_id"])


def _segments() -> None:
    op.create_table(
        "analysis_segments",
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("segment_sha256", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("findings_count", sa.Integer(), nullable=False),
        _created_at(),
        _fk("analysis_segments", "evidence_id", "evidence_items"),
        _fk("analysis_segments", "run_id", "analysis_runs"),
        sa.PrimaryKeyConstraint("evidence_id", "seq", name=op.f("pk_analysis_segments")),
    )


def upgrade() -> None:
    _runs()
    _findings()
    _segments()
    op.add_column(
        "evidence_items",
        sa.Column("analysis_text", sa.Text(), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("evidence_items", "analysis_text")
    op.drop_table("analysis_segments")
    op.drop_table("analysis_findings")
    op.drop_table("analysis_runs")
