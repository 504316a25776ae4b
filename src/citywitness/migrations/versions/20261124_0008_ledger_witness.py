"""ledger witnesses, cosignatures, fork incidents, RFC 3161 time stamps and anchors

Revision ID: 0008_ledger_witness
Revises: 0007_ledger
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from citywitness.migrations import append_only

revision: str = "0008_ledger_witness"
down_revision: str | Sequence[str] | None = "0007_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = (
    "ledger_cosignatures",
    "ledger_incidents",
    "ledger_incident_acknowledgements",
    "ledger_timestamps",
    "ledger_anchor_receipts",
)


def upgrade() -> None:
    op.create_table(
        "ledger_witnesses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("vkey", sa.String(length=400), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_ledger_witnesses_created_by_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_witnesses")),
        sa.UniqueConstraint("name", name=op.f("uq_ledger_witnesses_name")),
        sa.UniqueConstraint("vkey", name=op.f("uq_ledger_witnesses_vkey")),
    )
    op.create_table(
        "ledger_cosignatures",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("witness_id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"],
            ["ledger_witnesses.id"],
            name=op.f("fk_ledger_cosignatures_witness_id_ledger_witnesses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_cosignatures")),
        sa.UniqueConstraint(
            "witness_id", "size", "root", name=op.f("uq_ledger_cosignatures_witness_id_size_root")
        ),
    )
    op.create_index("ix_ledger_cosignatures_size", "ledger_cosignatures", ["size"], unique=False)
    op.create_table(
        "ledger_incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reported_by", sa.String(length=200), nullable=True),
        sa.Column(
            "detected_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_incidents")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_ledger_incidents_fingerprint")),
    )
    op.create_table(
        "ledger_incident_acknowledgements",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("acknowledged_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column(
            "acknowledged_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_user_id"],
            ["users.id"],
            name=op.f("fk_ledger_incident_acknowledgements_acknowledged_by_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["ledger_incidents.id"],
            name=op.f("fk_ledger_incident_acknowledgements_incident_id_ledger_incidents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_ledger_incident_acknowledgements")),
    )
    op.create_table(
        "ledger_timestamps",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("tsa_url", sa.String(length=500), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("serial_number", sa.String(length=60), nullable=False),
        sa.Column("policy", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_timestamps")),
        sa.UniqueConstraint("size", "root", name=op.f("uq_ledger_timestamps_size_root")),
    )
    op.create_table(
        "ledger_anchor_receipts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("anchor", sa.String(length=40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_anchor_receipts")),
        sa.UniqueConstraint(
            "anchor", "size", "root", name=op.f("uq_ledger_anchor_receipts_anchor_size_root")
        ),
    )
    op.create_table(
        "ledger_anchoring_status",
        sa.Column("job", sa.String(length=60), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_ledger_anchoring_status")),
    )
    append_only.protect(*APPEND_ONLY)


def downgrade() -> None:
    op.drop_table("ledger_anchoring_status")
    op.drop_table("ledger_anchor_receipts")
    op.drop_table("ledger_timestamps")
    op.drop_table("ledger_incident_acknowledgements")
    op.drop_table("ledger_incidents")
    op.drop_index("ix_ledger_cosignatures_size", table_name="ledger_cosignatures")
    op.drop_table("ledger_cosignatures")
    op.drop_table("ledger_witnesses")
