"""The append-only guard that migrations put on custody, audit and event tables.

`cw_refuse_change()` (migration 0001) raises on UPDATE, DELETE and TRUNCATE; `protect` attaches
it to a table as two triggers, `<table>_append_only` and `<table>_no_truncate`.
"""

from __future__ import annotations

from alembic import op


def protect(*tables: str) -> None:
    """Make each table refuse UPDATE, DELETE and TRUNCATE."""
    for table in tables:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION cw_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION cw_refuse_change()"
        )
