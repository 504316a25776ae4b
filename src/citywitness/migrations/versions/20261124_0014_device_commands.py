"""Device commands: commands to recorders, their transitions, departments' consent policies.

`device_command_events` is append-only (cw_refuse_change triggers).

Revision ID: 0014_device_commands
Revises: 0013_media
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from citywitness.migrations import append_only

revision: str = "0014_device_commands"
down_revision: str | Sequence[str] | None = "0013_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "state IN ('pending', 'sent', 'acknowledged')"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _created_at() -> sa.Column[datetime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _updated_at() -> sa.Column[datetime]:
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "device_commands",
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("consent_required", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        _updated_at(),
        sa.Column("id", sa.Uuid(), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "kind IN ('start_recording', 'stop_recording', 'request_live_view', "
            "'text_message', 'locate_now')",
            name=op.f("ck_device_commands_known_kind"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'acknowledged', 'succeeded', 'failed', 'rejected', "
            "'timed_out', 'cancelled')",
            name=op.f("ck_device_commands_known_state"),
        ),
        _fk("device_commands", "created_by", "users"),
        _fk("device_commands", "department_id", "departments"),
        _fk("device_commands", "recorder_id", "recorders"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_commands")),
    )
    op.create_index(
        "ix_device_commands_recorder_created",
        "device_commands",
        ["recorder_id", "created_at", "id"],
    )
    op.create_index(
        "ix_device_commands_open_expires",
        "device_commands",
        ["expires_at"],
        postgresql_where=sa.text(OPEN),
    )
    op.create_index(
        "ix_device_commands_undelivered",
        "device_commands",
        ["recorder_id", "created_at"],
        postgresql_where=sa.text("state IN ('pending', 'sent')"),
    )
    op.create_table(
        "device_command_events",
        sa.Column("command_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=True),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        _fk("device_command_events", "actor_user_id", "users"),
        _fk("device_command_events", "command_id", "device_commands"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_command_events")),
    )
    op.create_index(
        "ix_device_command_events_command_at", "device_command_events", ["command_id", "at"]
    )
    op.create_table(
        "device_command_policies",
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("live_view_consent", sa.String(length=20), nullable=False),
        _updated_at(),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "live_view_consent IN ('always', 'never', 'when_not_recording')",
            name=op.f("ck_device_command_policies_known_live_view_consent"),
        ),
        _fk("device_command_policies", "department_id", "departments"),
        _fk("device_command_policies", "updated_by", "users"),
        sa.PrimaryKeyConstraint("department_id", name=op.f("pk_device_command_policies")),
    )
    append_only.protect("device_command_events")


def downgrade() -> None:
    op.drop_table("device_command_policies")
    op.drop_table("device_command_events")
    op.drop_table("device_commands")
