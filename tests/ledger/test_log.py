"""The log in PostgreSQL: appends, sequencing, tree hashes, checkpoints, append-only tables."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from citywitness.kit.db import Database
from citywitness.ledger import merkle, service, tiles
from citywitness.ledger.keys import log_signer, log_vkey
from citywitness.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerLeaf, LedgerPending
from citywitness.ledger.note import Checkpoint, NoteVerifier, SignedNote
from citywitness.ledger.sequencer import sequence, sequence_all, sequence_once
from citywitness.ledger.tree import TileRef, TreeView, tiles_from_leaves
from citywitness.settings import Settings
from tests.ledger.helpers import event


async def _leaf_hashes(db: Database) -> list[bytes]:
    async with db.transaction() as session:
        rows = await session.scalars(select(LedgerLeaf.leaf_hash).order_by(LedgerLeaf.leaf_index))
        return [bytes(r) for r in rows]


async def test_append_is_part_of_the_callers_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError, match="change failed"):
        async with db.transaction() as session:
            await service.append(session, event(1))
            raise RuntimeError("change failed")
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
        assert await session.scalar(select(func.count()).select_from(LedgerPending)) == 0
        entry_id = await service.append(session, event(2))
    async with db.transaction() as session:
        entry = await session.get(LedgerEntry, entry_id)
        assert entry is not None
        assert entry.kind == "evidence.played"
        assert entry.object_id == str(uuid.UUID(int=2))
        assert bytes(entry.leaf_hash) == merkle.leaf_hash(bytes(entry.leaf))
        assert (await session.scalars(select(LedgerPending.entry_id))).all() == [entry_id]


async def test_sequencing_gives_dense_indexes_and_a_signed_checkpoint(
    db: Database, settings: Settings
) -> None:
    first = await sequence(db, settings)  # empty log: the size-0 checkpoint
    assert first is not None
    assert (first.size, first.added, first.checkpoint.root) == (0, 0, merkle.EMPTY_ROOT)
    assert await sequence(db, settings) is None
    async with db.transaction() as session:
        ids = await service.append_many(session, [event(n) for n in range(300)])
    done = await sequence(db, settings)
    assert done is not None
    assert (done.size, done.added) == (300, 300)
    async with db.transaction() as session:
        leaves = (await session.execute(select(LedgerLeaf).order_by(LedgerLeaf.leaf_index))).all()
        assert [row[0].leaf_index for row in leaves] == list(range(300))
        assert [row[0].entry_id for row in leaves] == ids
        assert await session.scalar(select(func.count()).select_from(LedgerPending)) == 0
        entries = (await session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))).all()
        reference = merkle.root_from_leaves([merkle.leaf_hash(bytes(e.leaf)) for e in entries])
        stored = await session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.size == 300))
        assert stored is not None
        assert bytes(stored.root) == reference
    note = SignedNote.decode(bytes(stored.note))
    assert Checkpoint.parse(note.body) == Checkpoint(log_signer(settings).name, 300, reference)
    assert NoteVerifier.from_vkey(log_vkey(settings)).verify(note)
    assert log_vkey(settings).startswith("demo.citywitness/log+")


async def test_tree_hashes_tiles_and_proofs_match_the_reference(
    db: Database, settings: Settings
) -> None:
    """Batches that straddle tile edges, up to a second tile level (65,536 leaves)."""
    sizes = [1, 255, 256, 257, 1000, 65535, 65536, 65539]
    signer = log_signer(settings)
    previous = 0
    for size in sizes:
        async with db.transaction() as session:
            await service.append_many(session, [event(n) for n in range(previous, size)])
            done = await sequence_once(session, signer, batch_size=100_000)
            assert done is not None
            assert done.size == size
        previous = size
    hashes = await _leaf_hashes(db)
    reference_tiles = tiles_from_leaves(hashes)
    async with db.transaction() as session:
        for ref in [TileRef(0, 0, 256), TileRef(0, 256, 3), TileRef(1, 0, 256), TileRef(2, 0, 1)]:
            assert await tiles.read_tile(session, ref) == list(reference_tiles(ref))
        checkpoints = (await session.scalars(select(LedgerCheckpoint))).all()
        for checkpoint in checkpoints:
            size = checkpoint.size
            assert bytes(checkpoint.root) == merkle.root_from_leaves(hashes[:size])
            assert await tiles.root(session, size) == bytes(checkpoint.root)
        root = merkle.root_from_leaves(hashes)
        for index in (0, 255, 256, 65535, 65536, 65538):
            proof = await tiles.inclusion_proof(session, index, len(hashes))
            assert proof == TreeView(len(hashes), reference_tiles).inclusion_proof(index)
            assert merkle.verify_inclusion(hashes[index], index, len(hashes), proof, root)
        for old in sizes:
            proof = await tiles.consistency_proof(session, old, len(hashes))
            old_root = merkle.root_from_leaves(hashes[:old])
            assert merkle.verify_consistency(old, len(hashes), proof, old_root, root)


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("ledger_entries", "kind"),
        ("ledger_leaves", "leaf_index"),
        ("ledger_tree_hashes", "node_index"),
        ("ledger_checkpoints", "size"),
    ],
)
async def test_ledger_tables_are_append_only(
    db: Database, settings: Settings, table: str, column: str
) -> None:
    async with db.transaction() as session:
        await service.append_many(session, [event(n) for n in range(256)])
    await sequence(db, settings)
    statements = [
        f"UPDATE {table} SET {column} = {column}",  # noqa: S608 - fixed names above
        f"DELETE FROM {table}",  # noqa: S608 - fixed names above
        f"TRUNCATE {table} CASCADE",
    ]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as session:
                await session.execute(text(statement))


async def test_concurrent_writers_and_sequencers(fresh_database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Writers in separate sessions and several sequencers at once: dense indexes, one root."""
    settings = Settings(data_dir=tmp_path / "data", database={"url": fresh_database_url})  # type: ignore[arg-type]
    db = Database(fresh_database_url, pool_size=8)
    try:

        async def writer(w: int) -> None:
            for batch in range(5):
                async with db.transaction() as session:
                    for k in range(10):
                        await service.append(session, event(w * 1000 + batch * 10 + k))

        async def sequencer() -> None:
            for _ in range(10):
                await sequence_all(db, settings)
                await asyncio.sleep(0.01)

        await asyncio.gather(*(writer(w) for w in range(4)), sequencer(), sequencer())
        await sequence_all(db, settings)
        async with db.transaction() as session:
            indexes = (await session.scalars(select(LedgerLeaf.leaf_index))).all()
            assert sorted(indexes) == list(range(200))
            entries = (await session.scalars(select(LedgerEntry.id))).all()
            assert len(entries) == 200
            latest = await session.scalar(
                select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
            )
            assert latest is not None
            assert latest.size == 200
        hashes = await _leaf_hashes(db)
        assert bytes(latest.root) == merkle.root_from_leaves(hashes)
    finally:
        await db.dispose()
