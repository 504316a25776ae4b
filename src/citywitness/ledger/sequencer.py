"""The sequencer: gives queued entries their dense 0-based indexes, extends the stored tree
hashes and signs a checkpoint for the new size.

One run is one transaction under a PostgreSQL advisory lock, so any number of workers may run
it: one sequences, the others find the lock taken and skip.  Entries are taken in id order
from `ledger_pending`; an entry whose transaction has not committed yet is simply taken by a
later run.  Leaves, tree hashes and the checkpoint commit together, so the latest checkpoint
always covers exactly the sequenced leaves.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.kit.db import Database
from citywitness.ledger import tiles
from citywitness.ledger.keys import log_signer
from citywitness.ledger.merkle import EMPTY_ROOT, TILE_HEIGHT, TILE_WIDTH, root_from_leaves
from citywitness.ledger.note import Checkpoint, NoteSigner, SignedNote
from citywitness.settings import Settings

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key: the bytes of "cwledger" as a signed 64-bit integer.
LOCK_KEY = int.from_bytes(b"cwledger", "big", signed=True)


@dataclass(frozen=True)
class Sequenced:
    """What one run did: the new tree size and how many entries it added."""

    size: int
    added: int
    checkpoint: Checkpoint


async def current_size(session: AsyncSession) -> int:
    found = await session.scalar(text("SELECT max(leaf_index) FROM ledger_leaves"))
    return 0 if found is None else int(found) + 1


async def _take_pending(session: AsyncSession, limit: int) -> list[tuple[int, bytes]]:
    rows = await session.execute(
        text(
            "SELECT p.entry_id, e.leaf_hash FROM ledger_pending p "
            "JOIN ledger_entries e ON e.id = p.entry_id ORDER BY p.entry_id LIMIT :limit"
        ),
        {"limit": limit},
    )
    taken = [(int(entry_id), bytes(value)) for entry_id, value in rows]
    if taken:
        await session.execute(
            text("DELETE FROM ledger_pending WHERE entry_id = ANY(:ids)"),
            {"ids": [entry_id for entry_id, _ in taken]},
        )
    return taken


async def _extend_tree(session: AsyncSession, size: int, new_leaves: list[bytes]) -> None:
    """Store the hashes of the complete 256**k-leaf subtrees the new leaves finish."""
    count, added, level = size, new_leaves, 0
    while added:
        edge_start = count - count % TILE_WIDTH
        edge = await tiles.read_hashes(session, level, edge_start, count)
        row = edge + added
        finished = [
            root_from_leaves(row[i : i + TILE_WIDTH])
            for i in range(0, len(row) - TILE_WIDTH + 1, TILE_WIDTH)
        ]
        level += TILE_HEIGHT
        if finished:
            first = edge_start // TILE_WIDTH
            await session.execute(
                text(
                    "INSERT INTO ledger_tree_hashes (level, node_index, hash) "
                    "SELECT :level, * FROM unnest(CAST(:indexes AS bigint[]), "
                    "CAST(:hashes AS bytea[]))"
                ),
                {
                    "level": level,
                    "indexes": list(range(first, first + len(finished))),
                    "hashes": finished,
                },
            )
        count, added = count // TILE_WIDTH, finished


async def _checkpoint(
    session: AsyncSession, signer: NoteSigner, size: int, root: bytes
) -> Checkpoint:
    checkpoint = Checkpoint(signer.name, size, root)
    body = checkpoint.body()
    note = SignedNote(body, (signer.sign(body),)).encode()
    await session.execute(
        text("INSERT INTO ledger_checkpoints (size, root, note) VALUES (:size, :root, :note)"),
        {"size": size, "root": root, "note": note},
    )
    return checkpoint


async def sequence_once(
    session: AsyncSession, signer: NoteSigner, *, batch_size: int
) -> Sequenced | None:
    """One run in the caller's transaction; None if another run holds the lock or nothing
    was waiting (a first run on an empty log still signs the size-0 checkpoint)."""
    locked = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    if not locked:
        return None
    size = await current_size(session)
    taken = await _take_pending(session, batch_size)
    if not taken:
        if size == 0 and await session.scalar(text("SELECT count(*) FROM ledger_checkpoints")) == 0:
            return Sequenced(0, 0, await _checkpoint(session, signer, 0, EMPTY_ROOT))
        return None
    await session.execute(
        text(
            "INSERT INTO ledger_leaves (leaf_index, entry_id, leaf_hash) "
            "SELECT * FROM unnest(CAST(:indexes AS bigint[]), CAST(:ids AS bigint[]), "
            "CAST(:hashes AS bytea[]))"
        ),
        {
            "indexes": list(range(size, size + len(taken))),
            "ids": [entry_id for entry_id, _ in taken],
            "hashes": [value for _, value in taken],
        },
    )
    await _extend_tree(session, size, [value for _, value in taken])
    new_size = size + len(taken)
    root = await tiles.root(session, new_size)
    checkpoint = await _checkpoint(session, signer, new_size, root)
    return Sequenced(new_size, len(taken), checkpoint)


async def sequence(db: Database, settings: Settings) -> Sequenced | None:
    """One run in a transaction of its own."""
    signer = log_signer(settings)
    async with db.transaction() as session:
        return await sequence_once(session, signer, batch_size=settings.ledger.sequence_batch_size)


async def sequence_all(db: Database, settings: Settings) -> int:
    """Runs until nothing is waiting (or another process holds the lock); entries added."""
    added = 0
    while (done := await sequence(db, settings)) is not None and done.added:
        added += done.added
        if done.added < settings.ledger.sequence_batch_size:
            break
    return added


async def run_forever(db: Database, settings: Settings) -> None:
    """The in-process loop: a run at most every `ledger.checkpoint_interval_seconds`.
    A failing run is logged and retried on the next tick; cancel the task to stop it."""
    interval = settings.ledger.checkpoint_interval_seconds
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            added = await sequence_all(db, settings)
            if added:
                log.debug("ledger sequenced", extra={"added": added})
        except Exception:
            log.exception("ledger sequencing failed")
        await asyncio.sleep(max(0.0, interval - (loop.time() - started)))
