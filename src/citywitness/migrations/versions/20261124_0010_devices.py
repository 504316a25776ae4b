"""Devices: recorder registry, shift bindings, enrollment, credentials, telemetry, presence.

`device_positions` is range-partitioned by day on `at`; its partitions
(`device_positions_pYYYYMMDD`) are created by the maintenance job and on demand, never
here.  `device_events` is append-only.

Revision ID: 0010_devices
Revises: 0009_ledger_exports
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from citywitness.migrations import append_only

revision: str = "0010_devices"
down_revision: str | Sequence[str] | None = "0009_ledger_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_positions",
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("accuracy_m", sa.REAL(), nullable=True),
        sa.Column("speed_mps", sa.REAL(), nullable=True),
        sa.Column("heading_deg", sa.REAL(), nullable=True),
        sa.Column("fix", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "recorder_id", "at", "msg_id", "seq", name=op.f("pk_device_positions")
        ),
        postgresql_partition_by="RANGE (at)",
    )
    op.create_table(
        "recorders",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("firmware", sa.String(length=64), nullable=True),
        sa.Column("imei", sa.String(length=16), nullable=True),
        sa.Column("iccid", sa.String(length=22), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_recorders_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recorders")),
        sa.UniqueConstraint("serial", name=op.f("uq_recorders_serial")),
    )
    op.create_index(
        "ix_recorders_department_serial", "recorders", ["department_id", "serial"], unique=False
    )
    op.create_table(
        "device_enrollment_codes",
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_device_enrollment_codes_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["recorder_id"],
            ["recorders.id"],
            name=op.f("fk_device_enrollment_codes_recorder_id_recorders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_enrollment_codes")),
    )
    op.create_index(
        op.f("ix_device_enrollment_codes_recorder_id"),
        "device_enrollment_codes",
        ["recorder_id"],
        unique=False,
    )
    op.create_table(
        "device_messages",
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorder_id"], ["recorders.id"], name=op.f("fk_device_messages_recorder_id_recorders")
        ),
        sa.PrimaryKeyConstraint("recorder_id", "msg_id", name=op.f("pk_device_messages")),
    )
    op.create_index(
        "ix_device_messages_received_at", "device_messages", ["received_at"], unique=False
    )
    op.create_table(
        "device_state",
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_transport", sa.String(length=8), nullable=True),
        sa.Column("last_address", sa.String(length=64), nullable=True),
        sa.Column("battery_pct", sa.REAL(), nullable=True),
        sa.Column("storage_free_mb", sa.Integer(), nullable=True),
        sa.Column("temperature_c", sa.REAL(), nullable=True),
        sa.Column("signal_dbm", sa.Integer(), nullable=True),
        sa.Column("recording", sa.Boolean(), nullable=True),
        sa.Column("firmware", sa.String(length=64), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("accuracy_m", sa.REAL(), nullable=True),
        sa.Column("speed_mps", sa.REAL(), nullable=True),
        sa.Column("heading_deg", sa.REAL(), nullable=True),
        sa.Column("fix", sa.String(length=10), nullable=True),
        sa.Column("position_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "written_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["recorder_id"], ["recorders.id"], name=op.f("fk_device_state_recorder_id_recorders")
        ),
        sa.PrimaryKeyConstraint("recorder_id", name=op.f("pk_device_state")),
    )
    op.create_index(
        "ix_device_state_online_seen", "device_state", ["online", "last_seen_at"], unique=False
    )
    op.create_table(
        "device_credentials",
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enrollment_code_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_code_id"],
            ["device_enrollment_codes.id"],
            name=op.f("fk_device_credentials_enrollment_code_id_device_enrollment_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["recorder_id"],
            ["recorders.id"],
            name=op.f("fk_device_credentials_recorder_id_recorders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_credentials")),
    )
    op.create_index(
        op.f("ix_device_credentials_recorder_id"),
        "device_credentials",
        ["recorder_id"],
        unique=False,
    )
    op.create_index(
        "uq_device_credentials_live_recorder",
        "device_credentials",
        ["recorder_id"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "device_events",
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("accuracy_m", sa.REAL(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_device_events_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name=op.f("fk_device_events_officer_id_officers")
        ),
        sa.ForeignKeyConstraint(
            ["recorder_id"], ["recorders.id"], name=op.f("fk_device_events_recorder_id_recorders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_events")),
    )
    op.create_index(
        "ix_device_events_department_at", "device_events", ["department_id", "at"], unique=False
    )
    op.create_index(
        "ix_device_events_recorder_at", "device_events", ["recorder_id", "at", "id"], unique=False
    )
    op.create_table(
        "recorder_bindings",
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bound_by", sa.Uuid(), nullable=True),
        sa.Column("ended_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_recorder_bindings_ended_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["bound_by"], ["users.id"], name=op.f("fk_recorder_bindings_bound_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by"], ["users.id"], name=op.f("fk_recorder_bindings_ended_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name=op.f("fk_recorder_bindings_officer_id_officers")
        ),
        sa.ForeignKeyConstraint(
            ["recorder_id"],
            ["recorders.id"],
            name=op.f("fk_recorder_bindings_recorder_id_recorders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recorder_bindings")),
    )
    op.create_index(
        op.f("ix_recorder_bindings_officer_id"), "recorder_bindings", ["officer_id"], unique=False
    )
    op.create_index(
        "ix_recorder_bindings_recorder_started",
        "recorder_bindings",
        ["recorder_id", "started_at"],
        unique=False,
    )
    op.create_index(
        "uq_recorder_bindings_open_officer",
        "recorder_bindings",
        ["officer_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "uq_recorder_bindings_open_recorder",
        "recorder_bindings",
        ["recorder_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    append_only.protect("device_events")


def downgrade() -> None:
    op.drop_index(
        "uq_recorder_bindings_open_recorder",
        table_name="recorder_bindings",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index(
        "uq_recorder_bindings_open_officer",
        table_name="recorder_bindings",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index("ix_recorder_bindings_recorder_started", table_name="recorder_bindings")
    op.drop_index(op.f("ix_recorder_bindings_officer_id"), table_name="recorder_bindings")
    op.drop_table("recorder_bindings")
    op.drop_index("ix_device_events_recorder_at", table_name="device_events")
    op.drop_index("ix_device_events_department_at", table_name="device_events")
    op.drop_table("device_events")
    op.drop_index(
        "uq_device_credentials_live_recorder",
        table_name="device_credentials",
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.drop_index(op.f("ix_device_credentials_recorder_id"), table_name="device_credentials")
    op.drop_table("device_credentials")
    op.drop_index("ix_device_state_online_seen", table_name="device_state")
    op.drop_table("device_state")
    op.drop_index("ix_device_messages_received_at", table_name="device_messages")
    op.drop_table("device_messages")
    op.drop_index(
        op.f("ix_device_enrollment_codes_recorder_id"), table_name="device_enrollment_codes"
    )
    op.drop_table("device_enrollment_codes")
    op.drop_index("ix_recorders_department_serial", table_name="recorders")
    op.drop_table("recorders")
    op.drop_table("device_positions")
