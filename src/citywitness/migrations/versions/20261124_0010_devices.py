"""Devices: recorder registry, enrollment, telemetry.

(Reserved in the migration chain; filled in by the change that builds it.)

Revision ID: 0010_devices
Revises: 0009_ledger_exports
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0010_devices"
down_revision: str | Sequence[str] | None = "0009_ledger_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
