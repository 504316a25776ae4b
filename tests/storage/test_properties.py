"""Property tests: any split of the input and any byte range read back exactly."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywitness.storage.backend import LocalBackend
from citywitness.storage.keys import AesGcmKeyWrapper
from citywitness.storage.store import ContentStore
from tests.storage.conftest import pattern
from tests.storage.fakes import MemoryKeyStore

CHUNK = 4096
DATA = pattern(5 * CHUNK + 321, seed=42)
T = TypeVar("T")

_pool = ThreadPoolExecutor(max_workers=1)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run on a private event loop in a worker thread (Hypothesis drives sync tests)."""
    return _pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def memory_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContentStore]:
    root = tmp_path_factory.mktemp("prop")
    yield ContentStore(
        backend=LocalBackend(root / "objects"),
        keys=MemoryKeyStore(),
        wrapper=AesGcmKeyWrapper(b"\x07" * 32),
        staging_dir=Path(root / "staging"),
        chunk_size=CHUNK,
    )


@pytest.fixture(scope="module")
def stored_sha(memory_store: ContentStore) -> str:
    async def write() -> str:
        writer = await memory_store.open_writer()
        await writer.write(DATA)
        return (await writer.finish()).sha256

    return run(write())


async def _read(store: ContentStore, sha: str, start: int, end: int) -> bytes:
    return b"".join([part async for part in store.read_range(sha, start, end)])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_range_equals_the_plaintext_slice(
    memory_store: ContentStore, stored_sha: str, data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(DATA)), label="start")
    end = data.draw(st.integers(start, len(DATA)), label="end")
    assert run(_read(memory_store, stored_sha, start, end)) == DATA[start:end]


@settings(max_examples=40, deadline=None)
@given(
    payload=st.binary(max_size=3 * CHUNK + 7),
    cuts=st.lists(st.integers(0, 3 * CHUNK + 7), max_size=8),
)
def test_any_split_of_the_input_stores_the_same_object(
    memory_store: ContentStore, payload: bytes, cuts: list[int]
) -> None:
    bounds = sorted({0, len(payload), *(c for c in cuts if c <= len(payload))})

    async def write() -> tuple[str, bytes]:
        writer = await memory_store.open_writer()
        for lo, hi in itertools.pairwise(bounds):
            await writer.write(payload[lo:hi])
        stored = await writer.finish()
        return stored.sha256, await memory_store.read_all(stored.sha256)

    sha, back = run(write())
    assert sha == hashlib.sha256(payload).hexdigest()
    assert back == payload
