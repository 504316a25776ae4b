"""Speech transcripts (placeholder).

Revision ID: 0018_speech
Revises: 0017_face_watchlists
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0018_speech"
down_revision: str | Sequence[str] | None = "0017_face_watchlists"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
