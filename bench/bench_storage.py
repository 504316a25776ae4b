"""Storage engine throughput against `sha256sum` of the same file, in the same run.

    .venv/bin/python bench/bench_storage.py [--size-mib 1024] [--piece-kib 64 1024]

Generates a file (in a temporary directory, deleted afterwards), hashes it with
`sha256sum`, then streams it through `ContentStore.open_writer()` (SHA-256 + AES-256-GCM
per chunk + write + fsync + rename into the local backend, with a checkpoint every 64 MiB
as a tus server would acknowledge a PATCH).  Then reads it back: the whole object
sequentially, and random 256 KiB ranges (a player seeking).  Key records are kept in
memory: the one INSERT per object is not what this measures.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from citywitness.kit.clock import utcnow
from citywitness.storage.backend import LocalBackend
from citywitness.storage.keys import AesGcmKeyWrapper
from citywitness.storage.keystore import Guard, KeyRecord, Usage
from citywitness.storage.store import ContentStore

MIB = 1024 * 1024
CHECKPOINT_EVERY = 64 * MIB


class MemoryKeys:
    def __init__(self) -> None:
        self.rows: dict[str, KeyRecord] = {}

    async def add(self, record: KeyRecord) -> KeyRecord:
        return self.rows.setdefault(record.sha256, record)

    async def get(self, sha256: str) -> KeyRecord | None:
        return self.rows.get(sha256)

    async def get_many(self, sha256s: Sequence[str]) -> dict[str, KeyRecord]:
        return {s: self.rows[s] for s in sha256s if s in self.rows}

    async def page(self, after: str | None, limit: int) -> list[KeyRecord]:
        return [r for s, r in sorted(self.rows.items()) if after is None or s > after][:limit]

    async def destroy(self, sha256: str, *, unless: Guard | None = None) -> KeyRecord | None:
        if unless is None or not await unless():
            self.rows[sha256] = replace(self.rows[sha256], wrapped_key=None, destroyed_at=utcnow())
        return self.rows[sha256]

    async def usage(self) -> Usage:
        return Usage(len(self.rows), 0, 0)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(16 * MIB)
    with path.open("wb") as out:
        written = 0
        while written < size:
            piece = (written.to_bytes(8) + block)[: min(len(block), size - written)]
            out.write(piece)
            written += len(piece)
        out.flush()
        os.fsync(out.fileno())


def hashlib_sha256(path: Path) -> float:
    """Seconds to read and hash the file with hashlib (OpenSSL, SHA-NI where the CPU has it)."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as source:
        while data := source.read(MIB):
            digest.update(data)
    return time.perf_counter() - started


def copy_fsync(path: Path, target: Path) -> float:
    """Seconds to copy the file and fsync the copy: the disk's limit for any writer."""
    started = time.perf_counter()
    with path.open("rb", buffering=0) as source, target.open("wb") as out:
        while data := source.read(MIB):
            out.write(data)
        out.flush()
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def sha256sum(path: Path) -> tuple[str, float]:
    started = time.perf_counter()
    result = subprocess.run(["sha256sum", str(path)], capture_output=True, check=True, text=True)
    return result.stdout.split()[0], time.perf_counter() - started


async def store_file(store: ContentStore, path: Path, piece: int) -> tuple[str, float]:
    started = time.perf_counter()
    writer = await store.open_writer()
    since_checkpoint = 0
    with path.open("rb", buffering=0) as source:
        while data := source.read(piece):
            await writer.write(data)
            since_checkpoint += len(data)
            if since_checkpoint >= CHECKPOINT_EVERY:
                await writer.checkpoint()
                since_checkpoint = 0
    stored = await writer.finish()
    return stored.sha256, time.perf_counter() - started


async def read_back(store: ContentStore, sha: str, size: int) -> tuple[float, float, int]:
    started = time.perf_counter()
    total = 0
    async for part in store.read_range(sha):
        total += len(part)
    sequential = time.perf_counter() - started
    assert total == size
    rng = random.Random(7)  # noqa: S311 - reproducible seek positions, not cryptography
    ranges = [
        (start, min(size, start + 256 * 1024))
        for start in (rng.randrange(0, size) for _ in range(400))
    ]
    started = time.perf_counter()
    ranged = 0
    for start, end in ranges:
        async for part in store.read_range(sha, start, end):
            ranged += len(part)
    return sequential, time.perf_counter() - started, ranged


def mbps(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e6


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--piece-kib", type=int, nargs="+", default=[64, 1024])
    parser.add_argument("--dir", type=Path, default=None, help="where the temp dir goes")
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="cw-bench-storage-") as tmp:
        root = Path(tmp)
        source = root / "input.bin"
        make_file(source, size)
        digest, base_s = sha256sum(source)
        print(f"file: {size / MIB:.0f} MiB at {root}  sha256sum: {mbps(size, base_s):8.1f} MB/s")
        hashlib_rate = mbps(size, hashlib_sha256(source))
        disk_rate = mbps(size, copy_fsync(source, root / "copy.bin"))
        print(
            f"baselines: hashlib read+sha256 {hashlib_rate:8.1f} MB/s;"
            f" copy+fsync {disk_rate:8.1f} MB/s"
        )
        for piece_kib in args.piece_kib:
            store = ContentStore(
                backend=LocalBackend(root / f"objects-{piece_kib}"),
                keys=MemoryKeys(),
                wrapper=AesGcmKeyWrapper(os.urandom(32)),
                staging_dir=root / f"staging-{piece_kib}",
            )
            stored_sha, write_s = await store_file(store, source, piece_kib * 1024)
            assert stored_sha == digest, "ContentStore digest differs from sha256sum"
            _, again_s = sha256sum(source)
            base = mbps(size, (base_s + again_s) / 2)
            write = mbps(size, write_s)
            print(
                f"write, {piece_kib:5d} KiB pieces: {write:8.1f} MB/s   sha256sum: {base:8.1f} MB/s"
                f"   ratio {write / base:.2f}  (vs hashlib {write / hashlib_rate:.2f},"
                f" vs copy+fsync {write / disk_rate:.2f})"
            )
            seq_s, ranged_s, ranged = await read_back(store, stored_sha, size)
            print(
                f"read back: sequential {mbps(size, seq_s):8.1f} MB/s; 400 random 256 KiB ranges"
                f" {mbps(ranged, ranged_s):8.1f} MB/s ({ranged_s / 400 * 1000:.2f} ms per range)"
            )
            shutil.rmtree(root / f"objects-{piece_kib}", ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
