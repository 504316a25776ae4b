"""Analysis runs and findings (placeholder until filled in).

Revision ID: 0015_analysis
Revises: 0014_device_commands
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0015_analysis"
down_revision: str | Sequence[str] | None = "0014_device_commands"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
