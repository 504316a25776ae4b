"""Behaviour cues (placeholder).

Revision ID: 0019_behaviour
Revises: 0018_speech
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0019_behaviour"
down_revision: str | Sequence[str] | None = "0018_speech"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
