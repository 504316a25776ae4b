"""Redacted videos are derivatives of their item: several per item in evidence_derivatives.

The (evidence_id, kind) unique constraint becomes a partial unique index for every kind but
`redacted`; redacted videos are unique per (evidence_id, sha256).  Redactions already
rendered get their derivative row, so destruction shreds them with their item.

Revision ID: 0023_redacted_derivatives
Revises: 0022_fleet_alerts
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_redacted_derivatives"
down_revision: str | Sequence[str] | None = "0022_fleet_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "evidence_derivatives"
ONE_PER_KIND = "uq_evidence_derivatives_evidence_id_kind"
ONE_PER_CONTENT = "uq_evidence_derivatives_redacted"


def upgrade() -> None:
    op.drop_constraint(ONE_PER_KIND, TABLE, type_="unique")
    op.create_index(
        ONE_PER_KIND,
        TABLE,
        ["evidence_id", "kind"],
        unique=True,
        postgresql_where=sa.text("kind <> 'redacted'"),
    )
    op.create_index(
        ONE_PER_CONTENT,
        TABLE,
        ["evidence_id", "sha256"],
        unique=True,
        postgresql_where=sa.text("kind = 'redacted'"),
    )
    op.execute(
        """
        INSERT INTO evidence_derivatives
            (id, evidence_id, kind, sha256, size_bytes, media_type, created_at)
        SELECT gen_random_uuid(), evidence_id, 'redacted', derivative_sha256,
               min(derivative_size), 'video/mp4', coalesce(min(rendered_at), now())
        FROM redactions
        WHERE derivative_sha256 IS NOT NULL AND derivative_size IS NOT NULL
        GROUP BY evidence_id, derivative_sha256
        ON CONFLICT DO NOTHING
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM evidence_derivatives WHERE kind = 'redacted'")
    op.drop_index(ONE_PER_CONTENT, table_name=TABLE)
    op.drop_index(ONE_PER_KIND, table_name=TABLE)
    op.create_unique_constraint(ONE_PER_KIND, TABLE, ["evidence_id", "kind"])
