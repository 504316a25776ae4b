"""Redactions (placeholder).

Revision ID: 0020_redactions
Revises: 0019_behaviour
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0020_redactions"
down_revision: str | Sequence[str] | None = "0019_behaviour"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
