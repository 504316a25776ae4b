"""Plate watch lists (placeholder).

Revision ID: 0016_plate_watchlists
Revises: 0015_analysis
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0016_plate_watchlists"
down_revision: str | Sequence[str] | None = "0015_analysis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
