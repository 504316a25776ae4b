"""MQTT credentials for external brokers: a Mosquitto-compatible hash of each device secret.

`device_credentials.mosquitto_hash` holds the secret as Mosquitto 2's password file wants
it (`$7$<iterations>$<salt>$<PBKDF2-SHA512>`), made when the secret is issued (the only
moment it is known), so `citywitness devices mqtt-passwd` can write the password file of an
external Mosquitto.  Credentials issued before this revision have none (NULL): re-enroll
those recorders to give them one.  `revoked_at` gets an index: the embedded broker looks
for credentials revoked in the last minute every few seconds, to disconnect them.

Revision ID: 0021_fleet_ops
Revises: 0020_redactions
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_fleet_ops"
down_revision: str | Sequence[str] | None = "0020_redactions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "device_credentials",
        sa.Column("mosquitto_hash", sa.String(length=200), nullable=True),
    )
    # the embedded broker looks for recently revoked credentials every few seconds
    op.create_index("ix_device_credentials_revoked_at", "device_credentials", ["revoked_at"])


def downgrade() -> None:
    op.drop_index("ix_device_credentials_revoked_at", table_name="device_credentials")
    op.drop_column("device_credentials", "mosquitto_hash")
