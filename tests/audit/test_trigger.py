"""The audit trail is append-only: the database itself refuses UPDATE, DELETE and TRUNCATE."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

INSUFFICIENT_PRIVILEGE = "42501"


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE audit_events SET action = 'x'", "UPDATE"),
        ("DELETE FROM audit_events", "DELETE"),
        ("TRUNCATE audit_events", "TRUNCATE"),
    ],
)
async def test_changes_to_audit_events_are_refused(
    connection: AsyncConnection, statement: str, operation: str
) -> None:
    await connection.execute(
        text(
            "INSERT INTO audit_events (actor_kind, action, outcome, details) "
            "VALUES ('system', 'test.trigger', 'success', '{}')"
        )
    )
    savepoint = await connection.begin_nested()
    with pytest.raises(DBAPIError) as caught:
        await connection.execute(text(statement))
    await savepoint.rollback()
    original = caught.value.orig
    assert isinstance(original, psycopg.Error)
    assert original.sqlstate == INSUFFICIENT_PRIVILEGE
    assert str(original).splitlines()[0] == (
        f"table audit_events is append-only: {operation} refused"
    )
    count = await connection.execute(
        text("SELECT count(*) FROM audit_events WHERE action = 'test.trigger'")
    )
    assert count.scalar_one() == 1
