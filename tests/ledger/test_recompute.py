"""`citywitness ledger verify`: passes on an intact log, names the first tampered leaf or
checkpoint otherwise (tampering done as the superuser, with the append-only trigger off)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from typer.testing import CliRunner

from citywitness.cli import app
from citywitness.kit.db import Database
from citywitness.ledger import service
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.note import NoteSigner, SignedNote
from citywitness.ledger.recompute import verify_log
from citywitness.ledger.sequencer import sequence_all
from citywitness.settings import Settings
from tests.ledger.helpers import event


async def _log(db: Database, settings: Settings, *sizes: int) -> None:
    start = 0
    for size in sizes:
        async with db.transaction() as session:
            await service.append_many(session, [event(n) for n in range(start, size)])
        await sequence_all(db, settings)
        start = size


async def _tamper(db: Database, table: str, statement: str, **params: object) -> None:
    async with db.transaction() as session:
        await session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
        await session.execute(text(statement), params)
        await session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))


async def _verify(db: Database, settings: Settings) -> list[str]:
    async with db.transaction() as session:
        return (await verify_log(session, log_vkey(settings))).failures


async def test_an_intact_log_verifies(db: Database, settings: Settings) -> None:
    await _log(db, settings, 0, 3, 300, 70_000)
    async with db.transaction() as session:
        seen: list[tuple[int, int]] = []
        report = await verify_log(session, log_vkey(settings), lambda d, t: seen.append((d, t)))
    assert report.ok, report.failures
    assert (report.leaves, report.checkpoints, report.tree_hashes) == (
        70_000,
        5,
        273 + 1,
    )  # batches of 50,000: 0, 3, 300, 50,300, 70,000
    assert seen[-1] == (70_000, 70_000)


async def test_a_changed_leaf_is_named(db: Database, settings: Settings) -> None:
    await _log(db, settings, 10, 20)
    async with db.transaction() as session:
        leaf = (
            await session.execute(
                text(
                    "SELECT leaf FROM ledger_entries WHERE id = "
                    "(SELECT entry_id FROM ledger_leaves WHERE leaf_index = 13)"
                )
            )
        ).scalar_one()
    changed = bytes(leaf).replace(b'"n":13', b'"n":99')
    assert changed != bytes(leaf)
    await _tamper(
        db,
        "ledger_entries",
        "UPDATE ledger_entries SET leaf = :leaf "
        "WHERE id = (SELECT entry_id FROM ledger_leaves WHERE leaf_index = 13)",
        leaf=changed,
    )
    assert await _verify(db, settings) == [
        "leaf 13: its entry's bytes do not hash to the stored leaf hash"
    ]


async def test_a_rehashed_leaf_breaks_the_checkpoint(db: Database, settings: Settings) -> None:
    """Changing a leaf and both its hashes consistently still contradicts the signed root."""
    await _log(db, settings, 4, 8)
    for table, column in (("ledger_entries", "id"), ("ledger_leaves", "entry_id")):
        await _tamper(
            db,
            table,
            f"UPDATE {table} SET leaf_hash = sha256('\\x00'::bytea || 'forged'::bytea)"  # noqa: S608
            f" WHERE {column} = (SELECT entry_id FROM ledger_leaves WHERE leaf_index = 6)",
        )
    await _tamper(
        db,
        "ledger_entries",
        "UPDATE ledger_entries SET leaf = 'forged'::bytea "
        "WHERE id = (SELECT entry_id FROM ledger_leaves WHERE leaf_index = 6)",
    )
    assert await _verify(db, settings) == [
        "checkpoint 8: stored root differs from the recomputed root"
    ]


async def test_a_deleted_leaf_and_a_forged_signature_are_named(
    db: Database, settings: Settings
) -> None:
    await _log(db, settings, 5)
    other = NoteSigner("demo.citywitness/log", Ed25519PrivateKey.generate())
    async with db.transaction() as session:
        note = bytes(
            (
                await session.execute(text("SELECT note FROM ledger_checkpoints WHERE size = 5"))
            ).scalar_one()
        )
    body = SignedNote.decode(note).body
    forged = SignedNote(body, (other.sign(body),)).encode()
    await _tamper(
        db,
        "ledger_checkpoints",
        "UPDATE ledger_checkpoints SET note = :note WHERE size = 5",
        note=forged,
    )
    assert await _verify(db, settings) == ["checkpoint 5: the log key's signature does not verify"]
    await _tamper(db, "ledger_leaves", "DELETE FROM ledger_leaves WHERE leaf_index = 2")
    assert await _verify(db, settings) == ["leaf 2: missing (the next sequenced index is 3)"]


def test_cli_verify_and_key(fresh_database_url: str, tmp_path: Path) -> None:
    env = {"CW_DATA_DIR": str(tmp_path / "data"), "CW_DATABASE__URL": fresh_database_url}
    runner = CliRunner()
    key = runner.invoke(app, ["ledger", "key"], env=env)
    assert key.exit_code == 0, key.output
    assert key.output.startswith("demo.citywitness/log+")
    seq = runner.invoke(app, ["ledger", "sequence"], env=env)
    assert (seq.exit_code, seq.output) == (0, "sequenced 0 entries\n")
    ok = runner.invoke(app, ["ledger", "verify"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "ok 0 leaves, 0 tree hashes, 1 checkpoints" in ok.output
