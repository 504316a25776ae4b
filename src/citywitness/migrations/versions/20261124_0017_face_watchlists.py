"""Face watch lists: persons per department, their enrolled face embeddings (never the
photo), and each department's face-matching switch (no row: off).

Revision ID: 0017_face_watchlists
Revises: 0016_plate_watchlists
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_face_watchlists"
down_revision: str | Sequence[str] | None = "0016_plate_watchlists"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _now(name: str) -> sa.Column[datetime]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "face_watch_persons",
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("added_by", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.Uuid(), nullable=True),
        _now("updated_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        _now("created_at"),
        _fk("face_watch_persons", "department_id", "departments"),
        _fk("face_watch_persons", "added_by", "users"),
        _fk("face_watch_persons", "removed_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_watch_persons")),
    )
    op.create_index(
        "ix_face_watch_persons_department_expires",
        "face_watch_persons",
        ["department_id", "expires_at"],
    )
    op.create_table(
        "face_watch_photos",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("embedding", postgresql.ARRAY(postgresql.REAL()), nullable=False),
        sa.Column("photo_sha256", sa.String(length=64), nullable=False),
        sa.Column("face_box", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("detector_score", sa.Float(), nullable=False),
        sa.Column("added_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        _now("created_at"),
        _fk("face_watch_photos", "person_id", "face_watch_persons", ondelete="CASCADE"),
        _fk("face_watch_photos", "added_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_watch_photos")),
    )
    op.create_index(op.f("ix_face_watch_photos_person_id"), "face_watch_photos", ["person_id"])
    op.create_table(
        "face_matching_policies",
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=False),
        _now("changed_at"),
        _fk("face_matching_policies", "department_id", "departments"),
        _fk("face_matching_policies", "changed_by", "users"),
        sa.PrimaryKeyConstraint("department_id", name=op.f("pk_face_matching_policies")),
    )


def downgrade() -> None:
    op.drop_table("face_matching_policies")
    op.drop_table("face_watch_photos")
    op.drop_table("face_watch_persons")
