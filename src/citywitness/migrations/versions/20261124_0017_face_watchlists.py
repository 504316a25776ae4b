"""Face watch lists (placeholder).

Revision ID: 0017_face_watchlists
Revises: 0016_plate_watchlists
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0017_face_watchlists"
down_revision: str | Sequence[str] | None = "0016_plate_watchlists"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
