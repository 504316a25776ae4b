"""Ledger: custody entries, Merkle tree, checkpoints.

(Reserved in the migration chain; filled in by the change that builds it.)

Revision ID: 0007_ledger
Revises: 0006_search_sort
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007_ledger"
down_revision: str | Sequence[str] | None = "0006_search_sort"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
