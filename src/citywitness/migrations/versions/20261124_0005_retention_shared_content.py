"""evidence retention: certificates for items whose content is retained for other items

Revision ID: 0005_retention_shared
Revises: 0004_core_derivatives
Create Date: 2026-11-24 22:00:00

The same recording registered in two departments is one stored object.  Destroying one
of the items keeps the content key for the others: that certificate has no
`key_destroyed_at` and lists the items the content was retained for.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_retention_shared"
down_revision: str | Sequence[str] | None = "0004_core_derivatives"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "evidence_destruction_certificates"


def upgrade() -> None:
    op.alter_column(
        TABLE, "key_destroyed_at", existing_type=sa.DateTime(timezone=True), nullable=True
    )
    op.add_column(
        TABLE,
        sa.Column("content_retained_for", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    # Certificates are append-only: a downgrade with retained-content certificates fails
    # on the NOT NULL rather than rewriting proof of destruction.
    op.drop_column(TABLE, "content_retained_for")
    op.alter_column(
        TABLE, "key_destroyed_at", existing_type=sa.DateTime(timezone=True), nullable=False
    )
