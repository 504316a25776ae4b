"""MQTT credentials for external brokers (placeholder).

Revision ID: 0021_fleet_ops
Revises: 0020_redactions
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0021_fleet_ops"
down_revision: str | Sequence[str] | None = "0020_redactions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
