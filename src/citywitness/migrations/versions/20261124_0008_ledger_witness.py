"""Ledger: witnesses, cosignatures, time stamps and anchors.

(Reserved in the migration chain; filled in by the change that builds it.)

Revision ID: 0008_ledger_witness
Revises: 0007_ledger
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0008_ledger_witness"
down_revision: str | Sequence[str] | None = "0007_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
