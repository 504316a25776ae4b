"""Builders for the witness, time-stamp and anchor tests: a growing log, witness keys,
checkpoints signed with the platform's own key (to fake a fork), a platform admin."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.kit.db import Database
from citywitness.ledger import service
from citywitness.ledger.keys import log_origin, log_signer
from citywitness.ledger.models import LedgerCheckpoint
from citywitness.ledger.note import Checkpoint, CosignatureSigner, SignedNote
from citywitness.ledger.sequencer import sequence_all
from citywitness.settings import Settings
from tests.factories import PUBLIC_SECURITY, Actor, make_actor
from tests.ledger.helpers import event

WITNESS = "court.example/witness"


def witness_signer(name: str = WITNESS) -> CosignatureSigner:
    return CosignatureSigner(name, Ed25519PrivateKey.generate())


async def grow(
    db: Database, settings: Settings, entries: int, *, start: int = 0
) -> LedgerCheckpoint:
    """Append `entries` custody events, sequence them, and return the newest checkpoint."""
    async with db.transaction() as session:
        await service.append_many(session, [event(start + n) for n in range(entries)])
    await sequence_all(db, settings)
    async with db.transaction() as session:
        latest = await session.scalar(
            select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
        )
    assert latest is not None
    return latest


def forged_note(settings: Settings, size: int, seed: bytes = b"fork") -> bytes:
    """A checkpoint of `size` with a root this log never had, signed with the log's key:
    what a split-view (forked) log would show someone."""
    root = hashlib.sha256(seed + str(size).encode()).digest()
    body = Checkpoint(log_origin(settings), size, root).body()
    return SignedNote(body, (log_signer(settings).sign(body),)).encode()


def cosigned(note: bytes, signer: CosignatureSigner, timestamp: int = 1_800_000_000) -> str:
    decoded = SignedNote.decode(note)
    return decoded.with_signature(signer.cosign(decoded.body, timestamp)).encode().decode()


async def platform_admin(db: Database) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: [Role.PLATFORM_ADMIN]})


async def ledger_reader(db: Database) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: [Role.AUDITOR]})
