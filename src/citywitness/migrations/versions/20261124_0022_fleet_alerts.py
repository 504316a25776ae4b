"""Fleet alerts and event retention (placeholder).

Revision ID: 0022_fleet_alerts
Revises: 0021_fleet_ops
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0022_fleet_alerts"
down_revision: str | Sequence[str] | None = "0021_fleet_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
