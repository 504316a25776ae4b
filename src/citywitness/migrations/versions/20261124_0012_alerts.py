"""Alerts and geofences: alerts, their lifecycle events, triggers, deliveries and webhooks;
geofences, presence and crossings; the platform's event outbox and consumer positions.

Triggers record the events other domains already write, in their own transactions, into
`event_outbox` (`kit.events`): every `device_events` row (topic `devices.event`), every
`ledger_incidents` row (`ledger.incident`) and, while a zone of the recorder's department
is active, the positions of each stored telemetry message (`devices.positions`, one
statement-level trigger with a transition table).  Append-only: `alert_events`,
`alert_delivery_attempts`, `geofence_crossings` (cw_refuse_change).

Revision ID: 0012_alerts
Revises: 0010_devices
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import Text

from citywitness.migrations import append_only

revision: str = "0012_alerts"
down_revision: str | Sequence[str] | None = "0010_devices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("alert_events", "alert_delivery_attempts", "geofence_crossings")

OUTBOX_FUNCTIONS = """
CREATE FUNCTION cw_outbox_device_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_outbox (topic, source_id, payload)
    VALUES ('devices.event', NEW.id::text, to_jsonb(NEW));
    PERFORM pg_notify('cw_events', 'devices.event');
    RETURN NULL;
END $$;

CREATE FUNCTION cw_outbox_ledger_incident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_outbox (topic, source_id, payload)
    VALUES ('ledger.incident', NEW.id::text, to_jsonb(NEW) - 'evidence');
    PERFORM pg_notify('cw_events', 'ledger.incident');
    RETURN NULL;
END $$;

CREATE FUNCTION cw_outbox_positions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM geofences WHERE active) THEN
        RETURN NULL;
    END IF;
    INSERT INTO event_outbox (topic, source_id, payload)
    SELECT 'devices.positions', n.recorder_id::text, jsonb_build_object(
        'recorder_id', n.recorder_id, 'msg_id', n.msg_id,
        'positions', jsonb_agg(jsonb_build_object('lat', n.lat, 'lon', n.lon, 'at', n.at)
                               ORDER BY n.at, n.seq))
    FROM new_positions n JOIN recorders r ON r.id = n.recorder_id
    WHERE EXISTS (SELECT 1 FROM geofences g
                  WHERE g.active AND g.department_id = r.department_id)
    GROUP BY n.recorder_id, n.msg_id;
    IF FOUND THEN
        PERFORM pg_notify('cw_events', 'devices.positions');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER device_events_outbox AFTER INSERT ON device_events
    FOR EACH ROW EXECUTE FUNCTION cw_outbox_device_event();
CREATE TRIGGER ledger_incidents_outbox AFTER INSERT ON ledger_incidents
    FOR EACH ROW EXECUTE FUNCTION cw_outbox_ledger_incident();
CREATE TRIGGER device_positions_outbox AFTER INSERT ON device_positions
    REFERENCING NEW TABLE AS new_positions
    FOR EACH STATEMENT EXECUTE FUNCTION cw_outbox_positions();
"""

DROP_OUTBOX_FUNCTIONS = """
DROP TRIGGER IF EXISTS device_positions_outbox ON device_positions;
DROP TRIGGER IF EXISTS ledger_incidents_outbox ON ledger_incidents;
DROP TRIGGER IF EXISTS device_events_outbox ON device_events;
DROP FUNCTION IF EXISTS cw_outbox_positions();
DROP FUNCTION IF EXISTS cw_outbox_ledger_incident();
DROP FUNCTION IF EXISTS cw_outbox_device_event();
"""


def upgrade() -> None:
    op.create_table(
        "event_consumers",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("last_xid", sa.BigInteger(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_event_consumers")),
    )
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "xid",
            sa.BigInteger(),
            server_default=sa.text("CAST(CAST(pg_current_xact_id() AS text) AS bigint)"),
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=60), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_outbox")),
    )
    op.create_index("ix_event_outbox_recorded_at", "event_outbox", ["recorded_at"], unique=False)
    op.create_index(
        "ix_event_outbox_topic_xid_id", "event_outbox", ["topic", "xid", "id"], unique=False
    )
    op.create_table(
        "alert_webhooks",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("min_severity", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_alert_webhooks_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_alert_webhooks_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_webhooks")),
    )
    op.create_table(
        "geofences",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("geometry", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("recorder_ids", sa.ARRAY(sa.Uuid()), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
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
        sa.CheckConstraint(
            "rule IN ('stay_inside', 'restricted')", name=op.f("ck_geofences_known_rule")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_geofences_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_geofences_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geofences")),
    )
    op.create_index(
        "ix_geofences_department_active", "geofences", ["department_id", "active"], unique=False
    )
    op.create_table(
        "geofence_presence",
        sa.Column("geofence_id", sa.Uuid(), nullable=False),
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("inside", sa.Boolean(), nullable=False),
        sa.Column("position_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["geofence_id"],
            ["geofences.id"],
            name=op.f("fk_geofence_presence_geofence_id_geofences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorder_id"],
            ["recorders.id"],
            name=op.f("fk_geofence_presence_recorder_id_recorders"),
        ),
        sa.PrimaryKeyConstraint("geofence_id", "recorder_id", name=op.f("pk_geofence_presence")),
    )
    op.create_table(
        "alerts",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("recorder_id", sa.Uuid(), nullable=True),
        sa.Column("officer_id", sa.Uuid(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("evidence_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
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
        sa.CheckConstraint(
            "severity IN ('info', 'low', 'medium', 'high', 'critical')",
            name=op.f("ck_alerts_known_severity"),
        ),
        sa.CheckConstraint(
            "snapshot_sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_alerts_snapshot_is_sha256")
        ),
        sa.CheckConstraint(
            "state IN ('new', 'acknowledged', 'dispatched', 'resolved', 'false')",
            name=op.f("ck_alerts_known_state"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_alerts_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name=op.f("fk_alerts_officer_id_officers")
        ),
        sa.ForeignKeyConstraint(
            ["recorder_id"], ["recorders.id"], name=op.f("fk_alerts_recorder_id_recorders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(
        "ix_alerts_department_occurred",
        "alerts",
        ["department_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_index("ix_alerts_occurred", "alerts", ["occurred_at", "id"], unique=False)
    op.create_index(
        "uq_alerts_open_dedup",
        "alerts",
        ["dedup_key"],
        unique=True,
        postgresql_where=sa.text("state IN ('new', 'acknowledged', 'dispatched')"),
    )
    op.create_table(
        "geofence_crossings",
        sa.Column("geofence_id", sa.Uuid(), nullable=False),
        sa.Column("recorder_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=True),
        sa.Column("direction", sa.String(length=5), nullable=False),
        sa.Column("breach", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_geofence_crossings_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["geofence_id"],
            ["geofences.id"],
            name=op.f("fk_geofence_crossings_geofence_id_geofences"),
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name=op.f("fk_geofence_crossings_officer_id_officers")
        ),
        sa.ForeignKeyConstraint(
            ["recorder_id"],
            ["recorders.id"],
            name=op.f("fk_geofence_crossings_recorder_id_recorders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geofence_crossings")),
    )
    op.create_index(
        "ix_geofence_crossings_geofence_at",
        "geofence_crossings",
        ["geofence_id", "at"],
        unique=False,
    )
    op.create_index(
        "ix_geofence_crossings_recorder_at",
        "geofence_crossings",
        ["recorder_id", "at"],
        unique=False,
    )
    op.create_table(
        "alert_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_alert_events_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_events_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id", "id"], unique=False)
    op.create_table(
        "alert_triggers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("source_kind", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_triggers_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_triggers")),
        sa.UniqueConstraint(
            "source_kind", "source_id", name=op.f("uq_alert_triggers_source_kind_source_id")
        ),
    )
    op.create_index(
        op.f("ix_alert_triggers_alert_id"), "alert_triggers", ["alert_id"], unique=False
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("alert_event_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "channel IN ('webhook', 'recorder')", name=op.f("ck_alert_deliveries_known_channel")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed', 'expired')",
            name=op.f("ck_alert_deliveries_known_state"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_event_id"],
            ["alert_events.id"],
            name=op.f("fk_alert_deliveries_alert_event_id_alert_events"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_deliveries_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sa.UniqueConstraint(
            "alert_event_id",
            "channel",
            "target_id",
            name=op.f("uq_alert_deliveries_alert_event_id_channel_target_id"),
        ),
    )
    op.create_index(
        op.f("ix_alert_deliveries_alert_id"), "alert_deliveries", ["alert_id"], unique=False
    )
    op.create_index(
        "ix_alert_deliveries_due",
        "alert_deliveries",
        ["channel", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_table(
        "alert_delivery_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["alert_deliveries.id"],
            name=op.f("fk_alert_delivery_attempts_delivery_id_alert_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery_attempts")),
    )
    op.create_index(
        op.f("ix_alert_delivery_attempts_delivery_id"),
        "alert_delivery_attempts",
        ["delivery_id"],
        unique=False,
    )

    append_only.protect(*APPEND_ONLY)
    op.execute(OUTBOX_FUNCTIONS)


def downgrade() -> None:
    op.execute(DROP_OUTBOX_FUNCTIONS)
    op.drop_index(
        op.f("ix_alert_delivery_attempts_delivery_id"), table_name="alert_delivery_attempts"
    )
    op.drop_table("alert_delivery_attempts")
    op.drop_index(
        "ix_alert_deliveries_due",
        table_name="alert_deliveries",
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_index(op.f("ix_alert_deliveries_alert_id"), table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_index(op.f("ix_alert_triggers_alert_id"), table_name="alert_triggers")
    op.drop_table("alert_triggers")
    op.drop_index("ix_alert_events_alert_id", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_geofence_crossings_recorder_at", table_name="geofence_crossings")
    op.drop_index("ix_geofence_crossings_geofence_at", table_name="geofence_crossings")
    op.drop_table("geofence_crossings")
    op.drop_index(
        "uq_alerts_open_dedup",
        table_name="alerts",
        postgresql_where=sa.text("state IN ('new', 'acknowledged', 'dispatched')"),
    )
    op.drop_index("ix_alerts_occurred", table_name="alerts")
    op.drop_index("ix_alerts_department_occurred", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("geofence_presence")
    op.drop_index("ix_geofences_department_active", table_name="geofences")
    op.drop_table("geofences")
    op.drop_table("alert_webhooks")
    op.drop_index("ix_event_outbox_topic_xid_id", table_name="event_outbox")
    op.drop_index("ix_event_outbox_recorded_at", table_name="event_outbox")
    op.drop_table("event_outbox")
    op.drop_table("event_consumers")
