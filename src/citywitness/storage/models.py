"""The key records of stored objects: one row per content hash, never deleted.

A live row holds the wrapped data key; destroying an object (crypto-shredding) sets
`destroyed_at` and overwrites `wrapped_key` with NULL, after which the bytes can never be
decrypted.  A trigger (migration 0002_storage) refuses DELETE, any change to a destroyed
row, and any change to the identity columns.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base


class StorageKey(Base):
    __tablename__ = "storage_keys"
    __table_args__ = (
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("(destroyed_at IS NULL) = (wrapped_key IS NOT NULL)", name="live_has_key"),
        CheckConstraint("size >= 0 AND stored_size > 0 AND chunk_size > 0", name="sizes"),
    )

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    stored_size: Mapped[int] = mapped_column(BigInteger)
    chunk_size: Mapped[int] = mapped_column(Integer)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    destroyed_at: Mapped[datetime | None]
