"""A file over 4 GiB through tus, interrupted in the middle: it resumes and completes, its
SHA-256 equals hashlib's over the same bytes, ranged reads past 4 GiB return them, and
the bytes at rest are not the plaintext.  (About 4 GiB of disk under the test's tmp dir.)"""

from __future__ import annotations

import hashlib
import os
import struct
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.storage import ContentStore
from citywitness.storage.backend import LocalBackend
from citywitness.storage.keys import AesGcmKeyWrapper
from citywitness.storage.keystore import PostgresKeyStore
from tests.evidence.ingest.conftest import OCTETS, Tus

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
SIZE = int(os.environ.get("CW_TEST_LARGE_UPLOAD_BYTES", str(4 * 1024 * MIB + 3 * MIB + 17)))
BLOCK = os.urandom(MIB)
PREFIX = b"%PDF-1.4\n"


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    """The production chunk size (1 MiB), not the tests' small one."""
    return ContentStore(
        backend=LocalBackend(tmp_path / "store" / "objects"),
        keys=PostgresKeyStore(db),
        wrapper=AesGcmKeyWrapper(os.urandom(32)),
        staging_dir=tmp_path / "store" / "staging",
        chunk_size=MIB,
        min_free_bytes=0,
    )


def generated(start: int, end: int, piece: int = 4 * MIB) -> Iterator[bytes]:
    """The file's bytes [start, end): the same for the same offsets, never periodic."""
    position = start
    while position < end:
        index, inner = divmod(position, MIB)
        block = bytearray(BLOCK)
        block[:8] = struct.pack(">Q", index)
        if index == 0:
            block[: len(PREFIX)] = PREFIX
        take = min(MIB - inner, end - position, piece)
        yield bytes(block[inner : inner + take])
        position += take


async def agenerated(start: int, end: int) -> AsyncIterator[bytes]:
    for piece in generated(start, end):
        yield piece


async def interrupted(app: FastAPI, url: str, headers: dict[str, str], start: int, n: int) -> None:
    """A PATCH whose client goes away after `n` bytes."""
    pieces = generated(start, start + n, piece=256 * 1024)

    async def receive() -> dict[str, Any]:
        piece = next(pieces, None)
        if piece is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(_message: dict[str, Any]) -> None:
        return None

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.7", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)


def _blob(root: Path, sha256: str) -> Path:
    (found,) = [p for p in root.rglob(f"{sha256}.*") if p.is_file()]
    return found


async def test_over_4_gib_interrupted_resumes_and_completes(
    tus: Tus, app: FastAPI, db: Database, store: ContentStore
) -> None:
    expected = hashlib.sha256()
    for piece in generated(0, SIZE):
        expected.update(piece)
    url = await tus.new(SIZE)
    half = SIZE // 2 + 12_345
    first = await tus.patch(url, 0, agenerated(0, half))
    assert first.status_code == 204, first.text
    assert first.headers["Upload-Offset"] == str(half)

    headers = tus.headers(**{"Upload-Offset": str(half), "Content-Type": OCTETS})
    await interrupted(app, url, headers, half, 300 * MIB + 99)
    offset = int((await tus.head(url)).headers["Upload-Offset"])
    assert offset == half + 300 * MIB + 99  # what arrived before the client left is kept

    last = await tus.patch(url, offset, agenerated(offset, SIZE))
    assert last.status_code == 204, last.text
    assert last.headers["Upload-Offset"] == str(SIZE)
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, uuid.UUID(last.headers["CW-Evidence-Id"]))
        assert item is not None
    assert item.sha256 == expected.hexdigest()
    assert item.size_bytes == SIZE

    tail = b"".join([p async for p in store.read_range(item.sha256, SIZE - 5 * MIB, SIZE)])
    assert tail == b"".join(generated(SIZE - 5 * MIB, SIZE))
    blob = _blob(Path(store.backend.root), item.sha256)  # type: ignore[attr-defined]
    with blob.open("rb") as handle:
        at_rest = handle.read(8 * MIB)
    assert BLOCK[100:164] not in at_rest
    assert PREFIX not in at_rest
