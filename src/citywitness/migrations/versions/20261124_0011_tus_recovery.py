"""tus: recovery of finished uploads.

(Reserved in the migration chain; filled in by the change that builds it.)

Revision ID: 0011_tus_recovery
Revises: 0010_devices
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0011_tus_recovery"
down_revision: str | Sequence[str] | None = "0010_devices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
