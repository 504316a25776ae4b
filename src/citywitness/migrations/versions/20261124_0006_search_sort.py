"""Evidence search by capture time, and indexes that keep search under 50 ms at 1,000,000 items.

- Department-leading orders: (department_id, created_at, id) and (department_id,
  captured_start, id).  Search runs one branch per department of the caller
  (access.service.visible_parts) and walks these in order, where the OR of departments
  and grants made PostgreSQL read every department's rows of the single-column orders.
- (officer_id, created_at, id): an officer's items in order, where a bitmap of the
  officer's items AND'ed with a whole department's cost more than the page.
- The capture length `coalesce(captured_end, captured_start) - captured_start`: its
  maximum is one index probe, and bounds a capture window's scan from below.
- The GiST box index gains department_id (btree_gist, a trusted contrib extension), so a
  place search in one department is one index probe; the B-tree on (min_lat, max_lat,
  min_lon, max_lon) is dropped: it bounded only min_lat, and the planner AND'ed it with the
  GiST index at a cost above reading the rows.

Revision ID: 0006_search_sort
Revises: 0005_search
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_search_sort"
down_revision: str | Sequence[str] | None = "0005_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "evidence_items"
BOX = "box(point(min_lon, min_lat), point(max_lon, max_lat))"
CAPTURE_LENGTH = "(COALESCE(captured_end, captured_start) - captured_start)"
ORDERS = {
    "ix_evidence_items_department_created": ["department_id", "created_at", "id"],
    "ix_evidence_items_department_captured": ["department_id", "captured_start", "id"],
    "ix_evidence_items_officer_created": ["officer_id", "created_at", "id"],
}


def upgrade() -> None:
    for name, columns in ORDERS.items():
        op.create_index(name, TABLE, columns)
    op.execute(f"CREATE INDEX ix_evidence_items_capture_length ON {TABLE} ({CAPTURE_LENGTH})")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("DROP INDEX ix_evidence_items_box")
    op.execute(f"CREATE INDEX ix_evidence_items_box ON {TABLE} USING gist (({BOX}), department_id)")
    op.drop_index("ix_evidence_items_geo", table_name=TABLE)
    # The composite indexes above lead with these columns; the single-column ones only
    # tempted the planner into slower plans.
    op.drop_index("ix_evidence_items_department_id", table_name=TABLE)
    op.drop_index("ix_evidence_items_officer_id", table_name=TABLE)


def downgrade() -> None:
    op.create_index("ix_evidence_items_officer_id", TABLE, ["officer_id"])
    op.create_index("ix_evidence_items_department_id", TABLE, ["department_id"])
    op.create_index("ix_evidence_items_geo", TABLE, ["min_lat", "max_lat", "min_lon", "max_lon"])
    op.execute("DROP INDEX ix_evidence_items_box")
    op.execute(f"CREATE INDEX ix_evidence_items_box ON {TABLE} USING gist (({BOX}))")
    # btree_gist stays: other schemas in the database may use it.
    op.execute("DROP INDEX ix_evidence_items_capture_length")
    for name in reversed(list(ORDERS)):
        op.drop_index(name, table_name=TABLE)
