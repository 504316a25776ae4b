"""Fakes at the storage seams: a KMS (cannot run here) and an in-memory key store."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from citywitness.kit.clock import utcnow
from citywitness.storage.errors import KeyUnavailable
from citywitness.storage.keystore import Guard, KeyRecord, Usage


class FakeKms:
    """A KMS behind the `KeyWrapper` protocol: the key never leaves it; calls are recorded.

    Like AWS KMS Encrypt/Decrypt with an encryption context: the context must match.
    """

    def __init__(self, key_id: str = "kms:alias/citywitness-test") -> None:
        self._key = AESGCM(AESGCM.generate_key(256))
        self._key_id = key_id
        self.calls: list[tuple[str, bytes]] = []
        self.disabled = False

    @property
    def kek_id(self) -> str:
        return self._key_id

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        self.calls.append(("encrypt", context))
        nonce = secrets.token_bytes(12)
        return b"kms1" + nonce + self._key.encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, kek_id: str, context: bytes) -> bytes:
        self.calls.append(("decrypt", context))
        if self.disabled or kek_id != self._key_id or wrapped[:4] != b"kms1":
            raise KeyUnavailable("KMS refused to decrypt")
        try:
            return self._key.decrypt(wrapped[4:16], wrapped[16:], context)
        except InvalidTag:
            raise KeyUnavailable("KMS: invalid ciphertext") from None


class MemoryKeyStore:
    """`KeyStore` in a dict, for tests that run without PostgreSQL (property tests)."""

    def __init__(self) -> None:
        self.rows: dict[str, KeyRecord] = {}

    async def add(self, record: KeyRecord) -> KeyRecord:
        return self.rows.setdefault(record.sha256, record)

    async def get(self, sha256: str) -> KeyRecord | None:
        return self.rows.get(sha256)

    async def get_many(self, sha256s: Sequence[str]) -> dict[str, KeyRecord]:
        return {sha: self.rows[sha] for sha in sha256s if sha in self.rows}

    async def page(self, after: str | None, limit: int) -> list[KeyRecord]:
        live = sorted(r.sha256 for r in self.rows.values() if not r.destroyed)
        return [self.rows[sha] for sha in live if after is None or sha > after][:limit]

    async def destroy(self, sha256: str, *, unless: Guard | None = None) -> KeyRecord | None:
        record = self.rows.get(sha256)
        if record is None or record.destroyed or (unless is not None and await unless()):
            return record
        self.rows[sha256] = replace(record, wrapped_key=None, destroyed_at=utcnow())
        return self.rows[sha256]

    async def usage(self) -> Usage:
        live = [r for r in self.rows.values() if not r.destroyed]
        return Usage(len(live), sum(r.size for r in live), sum(r.stored_size for r in live))
