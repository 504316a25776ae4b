"""Evidence search by capture time.

(Reserved in the migration chain; filled in by the change that builds it.)

Revision ID: 0006_search_sort
Revises: 0005_search
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006_search_sort"
down_revision: str | Sequence[str] | None = "0005_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
