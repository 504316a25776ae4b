"""Where wrapped data keys live: the `KeyStore` protocol and its PostgreSQL implementation.

Each method commits its own short transaction: the key of an object is durable before the
evidence layer references the object, and a destroyed key is gone before any byte is
deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.storage.models import StorageKey

Guard = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class KeyRecord:
    """The key record of one stored object; `wrapped_key` is None once destroyed."""

    sha256: str
    object_id: uuid.UUID
    size: int
    stored_size: int
    chunk_size: int
    wrapped_key: bytes | None
    kek_id: str
    created_at: datetime
    destroyed_at: datetime | None = None

    @property
    def destroyed(self) -> bool:
        return self.destroyed_at is not None


@dataclass(frozen=True)
class Usage:
    """Live (not destroyed) objects: count, plaintext bytes and bytes at rest."""

    objects: int
    bytes: int
    stored_bytes: int


class KeyStore(Protocol):
    async def add(self, record: KeyRecord) -> KeyRecord:
        """Insert `record` unless its SHA-256 is known; return the record that is stored."""
        ...

    async def get(self, sha256: str) -> KeyRecord | None: ...

    async def get_many(self, sha256s: Sequence[str]) -> dict[str, KeyRecord]: ...

    async def page(self, after: str | None, limit: int) -> list[KeyRecord]:
        """Live records in SHA-256 order, strictly after `after`."""
        ...

    async def destroy(self, sha256: str, *, unless: Guard | None = None) -> KeyRecord | None:
        """Overwrite the wrapped key with NULL and stamp `destroyed_at`; the record after.

        With `unless`, the row is locked first and kept (returned live) if `unless()` is
        true when asked under the lock: a sweep asks "is it referenced now?" there.
        """
        ...

    async def usage(self) -> Usage: ...


def _record(row: StorageKey) -> KeyRecord:
    return KeyRecord(
        sha256=row.sha256,
        object_id=row.object_id,
        size=row.size,
        stored_size=row.stored_size,
        chunk_size=row.chunk_size,
        wrapped_key=row.wrapped_key,
        kek_id=row.kek_id,
        created_at=row.created_at,
        destroyed_at=row.destroyed_at,
    )


class PostgresKeyStore:
    """Key records in the `storage_keys` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, record: KeyRecord) -> KeyRecord:
        values = {
            "sha256": record.sha256,
            "object_id": record.object_id,
            "size": record.size,
            "stored_size": record.stored_size,
            "chunk_size": record.chunk_size,
            "wrapped_key": record.wrapped_key,
            "kek_id": record.kek_id,
            "created_at": record.created_at,
        }
        statement = insert(StorageKey).values(values).on_conflict_do_nothing()
        async with self._db.transaction() as session:
            await session.execute(statement)
            row = await session.get(StorageKey, record.sha256)
            if row is None:  # impossible: inserted or already there, and never deleted
                raise RuntimeError(f"key record {record.sha256} vanished")
            return _record(row)

    async def get(self, sha256: str) -> KeyRecord | None:
        async with self._db.transaction() as session:
            row = await session.get(StorageKey, sha256)
            return None if row is None else _record(row)

    async def get_many(self, sha256s: Sequence[str]) -> dict[str, KeyRecord]:
        if not sha256s:
            return {}
        async with self._db.transaction() as session:
            rows = await session.scalars(
                select(StorageKey).where(StorageKey.sha256.in_(list(sha256s)))
            )
            return {row.sha256: _record(row) for row in rows}

    async def page(self, after: str | None, limit: int) -> list[KeyRecord]:
        query = select(StorageKey).where(StorageKey.destroyed_at.is_(None))
        if after is not None:
            query = query.where(StorageKey.sha256 > after)
        async with self._db.transaction() as session:
            rows = await session.scalars(query.order_by(StorageKey.sha256).limit(limit))
            return [_record(row) for row in rows]

    async def destroy(self, sha256: str, *, unless: Guard | None = None) -> KeyRecord | None:
        query = select(StorageKey).where(StorageKey.sha256 == sha256).with_for_update()
        async with self._db.transaction() as session:
            row = await session.scalar(query)
            if row is None:
                return None
            if row.destroyed_at is None and (unless is None or not await unless()):
                row.wrapped_key = None
                row.destroyed_at = utcnow()
                await session.flush()
            return _record(row)

    async def usage(self) -> Usage:
        query = select(
            func.count(),
            func.coalesce(func.sum(StorageKey.size), 0),
            func.coalesce(func.sum(StorageKey.stored_size), 0),
        ).where(StorageKey.destroyed_at.is_(None))
        async with self._db.transaction() as session:
            objects, plain, stored = (await session.execute(query)).one()
            return Usage(int(objects), int(plain), int(stored))


async def lock_live_key(session: AsyncSession, sha256: str) -> bool:
    """In the caller's transaction: lock the key record of `sha256` against destruction.

    True if the object is live.  The evidence layer calls this in the transaction that
    inserts its record, so a concurrent sweep or destroy either finishes first (and this
    returns False) or waits until that transaction commits (and then sees the reference).
    """
    query = (
        select(StorageKey.sha256)
        .where(StorageKey.sha256 == sha256, StorageKey.destroyed_at.is_(None))
        .with_for_update(read=True)
    )
    return (await session.scalar(query)) is not None
