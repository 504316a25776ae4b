"""Plate watch lists: named lists per department and their entries (plate, country,
reason, expiry; removal is a mark, never a delete).

Revision ID: 0016_plate_watchlists
Revises: 0015_analysis
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_plate_watchlists"
down_revision: str | Sequence[str] | None = "0015_analysis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "plate_watchlists",
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        _created_at(),
        _fk("plate_watchlists", "department_id", "departments"),
        _fk("plate_watchlists", "created_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plate_watchlists")),
        sa.UniqueConstraint(
            "department_id", "name", name=op.f("uq_plate_watchlists_department_id_name")
        ),
    )
    op.create_table(
        "plate_watch_entries",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("added_by", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        _created_at(),
        _fk("plate_watch_entries", "list_id", "plate_watchlists", ondelete="CASCADE"),
        _fk("plate_watch_entries", "added_by", "users"),
        _fk("plate_watch_entries", "removed_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plate_watch_entries")),
    )
    op.create_index(
        "ix_plate_watch_entries_list_plate", "plate_watch_entries", ["list_id", "plate"]
    )


def downgrade() -> None:
    op.drop_index("ix_plate_watch_entries_list_plate", table_name="plate_watch_entries")
    op.drop_table("plate_watch_entries")
    op.drop_table("plate_watchlists")
