"""Pipelined writes (`ObjectWriter.pipeline`) and finishing with the staging kept
(`finish(keep_staging=True)`), on both backends."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence

import pytest

from citywitness.storage.store import ContentStore
from tests.storage.conftest import CHUNK, Rest, pattern, sha

UPLOAD = "pipelined-upload-1"


def _pieces(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    out, start, index = [], 0, 0
    while start < len(data):
        size = sizes[index % len(sizes)]
        out.append(data[start : start + size])
        start, index = start + size, index + 1
    return out


async def test_a_pipelined_stream_stores_the_same_object(store: ContentStore) -> None:
    data = pattern(23 * CHUNK + 777, seed=3)
    seen = hashlib.sha256()

    def side(batch: Sequence[bytes | memoryview]) -> None:
        for piece in batch:
            seen.update(piece)

    pieces = _pieces(data, [1, CHUNK, 5000, 3 * CHUNK + 1])
    writer = await store.open_writer(upload_id=UPLOAD)
    async with writer.pipeline(side=side, batch_bytes=3 * CHUNK) as pipe:
        for index, piece in enumerate(pieces):
            await pipe.write(piece)
            await pipe.write(b"")  # ignored
            if index == 7:
                assert await pipe.checkpoint() == sum(len(p) for p in pieces[:8])
                assert pipe.since_checkpoint == 0
    assert writer.offset == len(data)
    assert seen.hexdigest() == sha(data)
    assert await writer.checkpoint() == len(data)
    stored = await writer.finish()
    assert (stored.sha256, stored.size) == (sha(data), len(data))
    assert await store.read_all(stored.sha256) == data


async def test_an_error_in_the_side_function_surfaces_and_nothing_runs_on(
    store: ContentStore,
) -> None:
    data = pattern(9 * CHUNK, seed=4)
    calls: list[int] = []

    def side(batch: Sequence[bytes | memoryview]) -> None:
        calls.append(len(batch))
        if len(calls) == 2:
            raise ValueError("side failed")

    writer = await store.open_writer(upload_id=UPLOAD)
    await writer.write(data[:CHUNK])
    await writer.checkpoint()
    with pytest.raises(ValueError, match="side failed"):
        async with writer.pipeline(side=side, batch_bytes=2 * CHUNK) as pipe:
            for piece in _pieces(data[CHUNK:], [CHUNK]):
                await pipe.write(piece)
    assert len(calls) == 2  # the batch after the failure was never handed over
    resumed = await store.resume_writer(UPLOAD)  # what a tus PATCH does after an error
    assert resumed.offset == CHUNK
    await resumed.write(data[CHUNK:])
    assert (await resumed.finish()).sha256 == sha(data)


async def test_cancellation_waits_for_the_batch_in_flight(store: ContentStore) -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def side(batch: Sequence[bytes | memoryview]) -> None:
        started.set()
        release.wait(10)
        finished.set()

    writer = await store.open_writer(upload_id=UPLOAD)

    async def stream() -> None:
        async with writer.pipeline(side=side, batch_bytes=CHUNK) as pipe:
            await pipe.write(pattern(CHUNK))
            await pipe.flush()

    task = asyncio.create_task(stream())
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # still waiting for the thread, not gone while it runs
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished.is_set()


async def test_finish_keeping_staging_is_idempotent_until_discarded(
    store: ContentStore, rest: Rest
) -> None:
    data = pattern(6 * CHUNK + 5, seed=6)
    writer = await store.open_writer(upload_id=UPLOAD, expected_size=len(data))
    await writer.write(data)
    first = await writer.finish(keep_staging=True)
    state = await store.partial(UPLOAD)  # kept, and sealed
    assert state.sealed is not None
    assert state.sealed.sha256 == first.sha256
    assert len(rest.names()) == 1

    again = await (await store.resume_writer(UPLOAD)).finish(keep_staging=True)  # a crash
    assert (again.sha256, again.object_id, again.deduplicated) == (
        first.sha256,
        first.object_id,
        False,
    )
    assert len(rest.names()) == 1  # no second copy
    await store.discard_upload(UPLOAD)
    await store.discard_upload(UPLOAD)  # idempotent
    assert not (store.staging_dir / UPLOAD).exists()
    assert await store.read_all(first.sha256) == data


async def test_finish_keeping_staging_of_known_content_keeps_the_first_copy(
    store: ContentStore, rest: Rest
) -> None:
    data = pattern(2 * CHUNK, seed=7)
    first_writer = await store.open_writer()
    await first_writer.write(data)
    first = await first_writer.finish()
    writer = await store.open_writer(upload_id=UPLOAD)
    await writer.write(data)
    duplicate = await writer.finish(keep_staging=True)
    assert (duplicate.object_id, duplicate.deduplicated) == (first.object_id, True)
    again = await (await store.resume_writer(UPLOAD)).finish(keep_staging=True)
    assert (again.object_id, again.deduplicated) == (first.object_id, True)
    assert len(rest.names()) == 1
    await store.discard_upload(UPLOAD)
    assert not (store.staging_dir / UPLOAD).exists()
