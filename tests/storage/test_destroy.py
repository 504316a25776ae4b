"""Crypto-shredding: the wrapped key is destroyed first, then the bytes; reads then fail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from psycopg.errors import InsufficientPrivilege
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from citywitness.kit.db import Database
from citywitness.storage.backend import BlobBackend, BlobInfo, BlobReader, blob_name
from citywitness.storage.errors import KeyDestroyed, ObjectDestroyed, ObjectNotFound
from citywitness.storage.keystore import Guard, KeyRecord, PostgresKeyStore
from citywitness.storage.store import ContentStore
from tests.storage.conftest import Rest, pattern, put, sha


class EventBackend:
    """A backend that appends "bytes deleted" to a shared event log."""

    def __init__(self, inner: BlobBackend, events: list[str]) -> None:
        self.inner = inner
        self.events = events

    def put_file(self, name: str, source: Path) -> None:
        self.inner.put_file(name, source)

    def open(self, name: str) -> BlobReader:
        return self.inner.open(name)

    def size(self, name: str) -> int | None:
        return self.inner.size(name)

    def delete(self, name: str) -> None:
        self.events.append("bytes deleted")
        self.inner.delete(name)

    def list_page(self, after: str | None, limit: int) -> list[BlobInfo]:
        return self.inner.list_page(after, limit)

    def free_bytes(self) -> int | None:
        return self.inner.free_bytes()


class EventKeyStore(PostgresKeyStore):
    """The PostgreSQL key store, appending "key destroyed" once the destruction committed."""

    def __init__(self, database: Database, events: list[str]) -> None:
        super().__init__(database)
        self.events = events

    async def destroy(self, sha256: str, *, unless: Guard | None = None) -> KeyRecord | None:
        record = await super().destroy(sha256, unless=unless)
        self.events.append("key destroyed")
        return record


async def test_destroy_shreds_key_then_bytes(
    make_store: Callable[..., ContentStore], rest: Rest, db: Database
) -> None:
    events: list[str] = []
    store = make_store(backend=EventBackend(rest.backend, events), keys=EventKeyStore(db, events))
    stored = await put(store, pattern(10_000))
    record = await store.destroy(stored.sha256)
    assert events == ["key destroyed", "bytes deleted"]
    assert record.wrapped_key is None
    assert record.destroyed_at is not None
    assert rest.names() == []
    async with db.transaction() as session:
        row = (
            await session.execute(
                text("SELECT wrapped_key, destroyed_at FROM storage_keys WHERE sha256 = :s"),
                {"s": stored.sha256},
            )
        ).one()
    assert row.wrapped_key is None
    assert row.destroyed_at == record.destroyed_at


async def test_reads_after_destroy_fail_with_key_destroyed(store: ContentStore, rest: Rest) -> None:
    stored = await put(store, b"shred me")
    name = blob_name(stored.sha256, stored.object_id)
    kept_copy = rest.get(name)
    await store.destroy(stored.sha256)
    rest.put(name, kept_copy)  # even a backup of the bytes is useless without the key
    for call in (store.read_all, store.stat):
        with pytest.raises(KeyDestroyed) as caught:
            await call(stored.sha256)
        assert caught.value.status == 410
        assert caught.value.code == "storage_key_destroyed"
    assert await store.exists(stored.sha256) is False
    assert (await store.usage()).objects == 0


async def test_destroyed_content_is_not_stored_again(store: ContentStore, rest: Rest) -> None:
    stored = await put(store, b"once")
    await store.destroy(stored.sha256)
    with pytest.raises(ObjectDestroyed) as caught:
        await put(store, b"once")
    assert caught.value.status == 409
    assert rest.names() == []
    assert list(store.staging_dir.iterdir()) == []


async def test_destroy_of_unknown_object_is_not_found(store: ContentStore) -> None:
    with pytest.raises(ObjectNotFound):
        await store.destroy(sha(b"never stored"))


async def test_destroy_keeps_what_the_guard_says_is_referenced(
    store: ContentStore, rest: Rest
) -> None:
    stored = await put(store, b"still needed")

    async def referenced() -> bool:
        return True

    record = await store.destroy(stored.sha256, unless=referenced)
    assert record.destroyed is False
    assert await store.read_all(stored.sha256) == b"still needed"
    assert len(rest.names()) == 1


async def test_destroy_rows_cannot_be_resurrected_or_deleted(
    store: ContentStore, db: Database
) -> None:
    stored = await put(store, b"final")
    await store.destroy(stored.sha256)
    statements = [
        "UPDATE storage_keys SET wrapped_key = '\\x01', destroyed_at = NULL WHERE sha256 = :s",
        "DELETE FROM storage_keys WHERE sha256 = :s",
    ]
    for statement in statements:
        async with db.sessionmaker() as session:
            with pytest.raises(DBAPIError, match="storage_keys") as caught:
                await session.execute(text(statement), {"s": stored.sha256})
            assert isinstance(caught.value.orig, InsufficientPrivilege)
            await session.rollback()
