"""Pipelined writes: the next bytes arrive while worker threads seal the previous ones.

`ObjectWriter.pipeline()` collects the pieces a caller receives into batches of
`PIPELINE_BATCH_BYTES`.  A full batch goes to a worker thread (hash, encrypt, append,
start the writeback) while the event loop goes on receiving the next one; at most one
batch is in flight, so memory stays bounded and the sender is slowed down (TCP
backpressure) when the disk or the CPU cannot keep up.  An optional `side` function sees
every batch too, in a second thread at the same time (the tus per-PATCH checksum):
hashlib and cryptography release the GIL on large buffers, so the two run in parallel.

No job outlives the pipeline: leaving it (normally, on an error or on cancellation)
waits until every thread it started is done, so nothing touches the upload's files once
the caller has let go of the writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from citywitness.storage.staging import StagedWriter

PIPELINE_BATCH_BYTES = 4 * 1024 * 1024
T = TypeVar("T")
Batch = Sequence[bytes | memoryview]
SideFunction = Callable[[Batch], None]

# Two threads per upload at most (its batch and its side function); more uploads queue.
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="cw-upload")


async def _settle(jobs: Sequence[Future[object]]) -> None:
    """Wait until every job has finished, even if the calling task is cancelled meanwhile
    (the cancellation is re-raised afterwards); the jobs' own errors are not raised."""
    if not jobs:
        return
    waiting = asyncio.gather(*(asyncio.wrap_future(job) for job in jobs), return_exceptions=True)
    cancelled = False
    while not waiting.done():
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


async def run_job(function: Callable[..., T], *args: object) -> T:
    """`function(*args)` in the pool; its result or its error, never left running."""
    job: Future[T] = _POOL.submit(function, *args)
    await _settle([job])  # type: ignore[list-item] # a Future[T] is waited on like any
    return job.result()


class WritePipeline:
    """Batches pieces for a `StagedWriter` and seals each batch in a worker thread."""

    def __init__(self, core: StagedWriter, side: SideFunction | None, batch_bytes: int) -> None:
        self._core = core
        self._side = side
        self._batch_bytes = batch_bytes
        self._batch: list[bytes | memoryview] = []
        self._batch_size = 0
        self._inflight: list[Future[None]] = []
        self.since_checkpoint = 0

    async def write(self, piece: bytes | memoryview) -> None:
        """Take `piece` (kept by reference: the caller must not change it afterwards)."""
        if not piece:
            return
        self._batch.append(piece)
        self._batch_size += len(piece)
        self.since_checkpoint += len(piece)
        if self._batch_size >= self._batch_bytes:
            await self._submit()

    async def _submit(self) -> None:
        await self._wait()  # the previous batch: one in flight while the next one fills
        batch, self._batch, self._batch_size = self._batch, [], 0
        jobs = [_POOL.submit(self._core.write_many, batch)]
        if self._side is not None:
            jobs.append(_POOL.submit(self._side, batch))
        self._inflight = jobs

    async def _wait(self) -> None:
        jobs, self._inflight = self._inflight, []
        await _settle(jobs)  # type: ignore[arg-type] # Future[None] is a Future[object]
        for job in jobs:
            job.result()  # the first error, if any

    async def flush(self) -> None:
        """Every piece taken so far is written into the upload (not yet durable)."""
        if self._batch:
            await self._submit()
        await self._wait()

    async def checkpoint(self) -> int:
        """Flush, then make everything durable (`StagedWriter.checkpoint`); the offset."""
        await self.flush()
        offset = await run_job(self._core.checkpoint)
        self.since_checkpoint = 0
        return offset

    async def settle(self) -> None:
        """Wait for the jobs still running, without raising their errors."""
        jobs, self._inflight = self._inflight, []
        await _settle(jobs)  # type: ignore[arg-type] # Future[None] is a Future[object]
