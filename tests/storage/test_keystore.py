"""The PostgreSQL key store and the guard trigger on storage_keys."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from psycopg.errors import CheckViolation, InsufficientPrivilege
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.storage.keystore import KeyRecord, PostgresKeyStore, Usage, lock_live_key


def record(n: int, **changes: object) -> KeyRecord:
    values: dict[str, object] = {
        "sha256": f"{n:064x}",
        "object_id": uuid.uuid4(),
        "size": 100 * n,
        "stored_size": 100 * n + 92,
        "chunk_size": 4096,
        "wrapped_key": b"wrapped-%d" % n,
        "kek_id": "local:0123456789abcdef",
        "created_at": utcnow().replace(microsecond=0) - timedelta(minutes=n),
    }
    values.update(changes)
    return KeyRecord(**values)  # type: ignore[arg-type]


async def test_add_get_page_usage(db: Database) -> None:
    keys = PostgresKeyStore(db)
    first, second, third = record(1), record(2), record(3)
    for item in (third, first, second):
        assert await keys.add(item) == item
    assert await keys.get(first.sha256) == first
    assert await keys.get("f" * 64) is None
    assert [r.sha256 for r in await keys.page(None, 2)] == [first.sha256, second.sha256]
    assert [r.sha256 for r in await keys.page(second.sha256, 10)] == [third.sha256]
    assert await keys.get_many([first.sha256, "e" * 64]) == {first.sha256: first}
    assert await keys.usage() == Usage(3, 600, 876)


async def test_add_of_a_known_hash_returns_the_stored_record(db: Database) -> None:
    keys = PostgresKeyStore(db)
    original = record(1)
    await keys.add(original)
    assert await keys.add(record(1, object_id=uuid.uuid4(), wrapped_key=b"other")) == original


async def test_destroy_nulls_the_key_and_hides_the_row_from_pages(db: Database) -> None:
    keys = PostgresKeyStore(db)
    await keys.add(record(1))
    destroyed = await keys.destroy(record(1).sha256)
    assert destroyed is not None
    assert destroyed.wrapped_key is None and destroyed.destroyed
    assert await keys.page(None, 10) == []
    assert await keys.usage() == Usage(0, 0, 0)
    assert await keys.destroy("f" * 64) is None
    again = await keys.destroy(record(1).sha256)
    assert again is not None and again.destroyed_at == destroyed.destroyed_at


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("DELETE FROM storage_keys", InsufficientPrivilege),
        ("UPDATE storage_keys SET size = 1", InsufficientPrivilege),
        ("UPDATE storage_keys SET object_id = gen_random_uuid()", InsufficientPrivilege),
        ("UPDATE storage_keys SET wrapped_key = NULL", CheckViolation),
        ("TRUNCATE storage_keys", InsufficientPrivilege),
    ],
)
async def test_guard_refuses_changes(db: Database, statement: str, error: type) -> None:
    await PostgresKeyStore(db).add(record(1))
    async with db.sessionmaker() as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(text(statement))
        assert isinstance(caught.value.orig, error)
        await session.rollback()


async def test_guard_allows_rewrapping_a_live_key(db: Database) -> None:
    keys = PostgresKeyStore(db)
    await keys.add(record(1))
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE storage_keys SET wrapped_key = '\\x02', kek_id = 'kms:new'")
        )
    rewrapped = await keys.get(record(1).sha256)
    assert rewrapped is not None
    assert (rewrapped.wrapped_key, rewrapped.kek_id) == (b"\x02", "kms:new")


async def test_lock_live_key(db: Database) -> None:
    keys = PostgresKeyStore(db)
    await keys.add(record(1))
    await keys.add(record(2))
    await keys.destroy(record(2).sha256)
    async with db.transaction() as session:
        assert await lock_live_key(session, record(1).sha256) is True
        assert await lock_live_key(session, record(2).sha256) is False
        assert await lock_live_key(session, "f" * 64) is False
