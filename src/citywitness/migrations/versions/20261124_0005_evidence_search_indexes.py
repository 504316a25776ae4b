"""Evidence search indexes: a GiST index on the item's GPS box (bbox and radius search).

The B-tree on (min_lat, max_lat, min_lon, max_lon) can bound only the first column, so a
box or radius search over a million items read most of the table.  The GiST index answers
the overlap (`&&`) of the item's box with the search box; geo.box_overlaps states the same
expression so the planner can use it.

Revision ID: 0005_search
Revises: 0005_retention_shared
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005_search"
down_revision: str | Sequence[str] | None = "0005_retention_shared"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOX = "box(point(min_lon, min_lat), point(max_lon, max_lat))"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_evidence_items_box ON evidence_items USING gist (({BOX}))")


def downgrade() -> None:
    op.execute("DROP INDEX ix_evidence_items_box")
