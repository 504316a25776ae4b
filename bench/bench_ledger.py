"""Ledger benchmarks, each against a baseline measured in the same run.

1. Durable appends, batched: ENTRIES custody events appended in transactions of BATCH
   (`ledger.service.append_many`, committed), then sequenced (`sequence_all`: indexes, tree
   hashes, a signed checkpoint).  Baseline: plain INSERTs of the same rows (same columns, same
   batches, same commits) into a scratch table with no queue, no trigger and no sequencing.
2. Commit to checkpoint: single appends committed one at a time while the worker's sequencing
   loop runs (interval 1 s); time from commit until a checkpoint covering the entry is
   committed (p50/p95).  Baseline: the interval itself.
3. Inclusion proofs on the stored tree (reading only the tiles needed): p50/p95 latency.
   Baseline: a primary-key lookup of one leaf hash in the same database.

Database: an embedded PostgreSQL in a temporary directory, or CW_BENCH_DATABASE_URL (a
database this script may fill).  CW_BENCH_ENTRIES (default 200,000), CW_BENCH_BATCH (1,000).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.kit import migrate
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.ledger import service, tiles
from citywitness.ledger.events import LedgerActor, LedgerEvent, LedgerKind, encode_leaf
from citywitness.ledger.merkle import leaf_hash, verify_inclusion
from citywitness.ledger.sequencer import current_size, run_forever, sequence_all
from citywitness.settings import Settings

ENTRIES = int(os.environ.get("CW_BENCH_ENTRIES", "200000"))
BATCH = int(os.environ.get("CW_BENCH_BATCH", "1000"))
LATENCY_SAMPLES = int(os.environ.get("CW_BENCH_LATENCY_SAMPLES", "20"))
PROOFS = 300
DEPARTMENT = uuid.UUID("00000000-0000-4000-8000-000000000001")


def events(start: int, count: int) -> list[LedgerEvent]:
    return [
        LedgerEvent(
            kind=LedgerKind.EVIDENCE_PLAYED,
            object_type="evidence",
            object_id=uuid.uuid4(),
            department_id=DEPARTMENT,
            actor=LedgerActor("user", uuid.uuid4()),
            details={"range": None, "bytes": 1000 + n, "reason_sha256": "ab" * 32},
        )
        for n in range(start, start + count)
    ]


SCRATCH = """
CREATE TABLE IF NOT EXISTS bench_scratch (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, created_at timestamptz NOT NULL,
    kind varchar(60) NOT NULL, object_type varchar(60) NOT NULL, object_id varchar(80) NOT NULL,
    department_id uuid, leaf bytea NOT NULL, leaf_hash bytea NOT NULL)
"""
INSERT = text(
    "INSERT INTO bench_scratch (created_at, kind, object_type, object_id, department_id, leaf, "
    "leaf_hash) SELECT * FROM unnest(CAST(:at AS timestamptz[]), CAST(:kinds AS varchar[]), "
    "CAST(:types AS varchar[]), CAST(:ids AS varchar[]), CAST(:depts AS uuid[]), "
    "CAST(:leaves AS bytea[]), CAST(:hashes AS bytea[]))"
)


async def baseline_inserts(db: Database) -> float:
    async with db.transaction() as session:
        await session.execute(text(SCRATCH))
    started = time.perf_counter()
    for start in range(0, ENTRIES, BATCH):
        batch = events(start, BATCH)
        now = utcnow()
        leaves = [encode_leaf(e, now) for e in batch]
        async with db.transaction() as session:
            await session.execute(
                INSERT,
                {
                    "at": [now] * len(batch),
                    "kinds": [e.kind.value for e in batch],
                    "types": [e.object_type for e in batch],
                    "ids": [str(e.object_id) for e in batch],
                    "depts": [e.department_id for e in batch],
                    "leaves": leaves,
                    "hashes": [leaf_hash(leaf) for leaf in leaves],
                },
            )
    return ENTRIES / (time.perf_counter() - started)


async def ledger_appends(db: Database, settings: Settings) -> tuple[float, float, float]:
    started = time.perf_counter()
    for start in range(0, ENTRIES, BATCH):
        async with db.transaction() as session:
            await service.append_many(session, events(start, BATCH))
    appended = time.perf_counter()
    await sequence_all(db, settings)
    done = time.perf_counter()
    return (
        ENTRIES / (appended - started),
        ENTRIES / (done - appended),
        ENTRIES / (done - started),
    )


async def commit_to_checkpoint(db: Database, settings: Settings) -> list[float]:
    loop = asyncio.create_task(run_forever(db, settings))
    samples = []
    try:
        for n in range(LATENCY_SAMPLES):
            await asyncio.sleep(random.uniform(0.0, 1.0))  # noqa: S311 - spread over the tick
            async with db.transaction() as session:
                (entry_id,) = await service.append_many(session, events(n, 1))
            committed = time.perf_counter()
            while True:
                async with db.transaction() as session:
                    covered = await session.scalar(
                        text(
                            "SELECT 1 FROM ledger_leaves l WHERE l.entry_id = :id AND "
                            "l.leaf_index < (SELECT max(size) FROM ledger_checkpoints)"
                        ),
                        {"id": entry_id},
                    )
                if covered:
                    break
                await asyncio.sleep(0.005)
            samples.append(time.perf_counter() - committed)
    finally:
        loop.cancel()
        await asyncio.wait([loop])
    return samples


async def proof_latency(db: Database) -> tuple[list[float], list[float], int]:
    proofs, lookups = [], []
    async with db.transaction() as session:
        size = await current_size(session)
        root = await tiles.root(session, size)
        for _ in range(PROOFS):
            index = random.randrange(size)  # noqa: S311 - a benchmark's sample
            started = time.perf_counter()
            proof = await tiles.inclusion_proof(session, index, size)
            proofs.append(time.perf_counter() - started)
            started = time.perf_counter()
            value = await session.scalar(
                text("SELECT leaf_hash FROM ledger_leaves WHERE leaf_index = :i"), {"i": index}
            )
            lookups.append(time.perf_counter() - started)
            assert verify_inclusion(bytes(value), index, size, proof, root)
    return proofs, lookups, size


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1] * 1000


@contextlib.contextmanager
def database() -> Iterator[str]:
    given = os.environ.get("CW_BENCH_DATABASE_URL")
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="cw-bench-ledger-") as tmp:
        server = EmbeddedPostgres(Path(tmp), database="citywitness")
        url = server.start()
        try:
            yield url
        finally:
            server.stop()


async def run(url: str, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, database={"url": url})  # type: ignore[arg-type]
    db = Database(url, pool_size=4)
    try:
        base = await baseline_inserts(db)
        append_rate, sequence_rate, total_rate = await ledger_appends(db, settings)
        print(f"entries: {ENTRIES} in batches of {BATCH} (one commit per batch)")
        print(f"baseline plain INSERTs: {base:,.0f} rows/s")
        print(
            f"ledger append: {append_rate:,.0f}/s; sequencing: {sequence_rate:,.0f}/s; "
            f"append + sequence: {total_rate:,.0f} entries/s "
            f"(ratio to baseline {total_rate / base:.2f})"
        )
        latency = await commit_to_checkpoint(db, settings)
        print(
            f"commit to signed checkpoint (interval 1 s, {len(latency)} samples): "
            f"p50 {pct(latency, 50):.0f} ms, p95 {pct(latency, 95):.0f} ms "
            f"(ratio of p95 to the interval {pct(latency, 95) / 1000:.2f})"
        )
        proofs, lookups, size = await proof_latency(db)
        print(
            f"inclusion proof at {size:,} leaves: p50 {pct(proofs, 50):.2f} ms, "
            f"p95 {pct(proofs, 95):.2f} ms; baseline leaf lookup p50 {pct(lookups, 50):.2f} ms "
            f"(ratio {pct(proofs, 50) / pct(lookups, 50):.1f}x)"
        )
    finally:
        await db.dispose()


def main() -> None:
    with database() as url, tempfile.TemporaryDirectory(prefix="cw-bench-ledger-data-") as data:
        migrate.upgrade(url)
        asyncio.run(run(url, Path(data)))


if __name__ == "__main__":
    main()
