"""Ledger: court export packages.

(Reserved in the migration chain; filled in by the change that builds it.)

Revision ID: 0009_ledger_exports
Revises: 0008_ledger_witness
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009_ledger_exports"
down_revision: str | Sequence[str] | None = "0008_ledger_witness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
