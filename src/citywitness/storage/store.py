"""The content store: encrypted, content-addressed objects behind one async API.

Order of durable steps (docs/storage.md, "Crash safety"):

1. the upload is sealed in staging (complete object, fsynced);
2. its bytes are put into the backend (atomic: absent or complete);
3. its key record is committed (the wrapped data key);
4. the caller (the evidence layer) references the SHA-256 in its own transaction.

A crash after 2 leaves an unreadable blob without a key record; after 3, a readable but
unreferenced object.  Both are orphans that `check` reports and `sweep` removes after a
grace period.  Destruction runs the other way: key first, then bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from citywitness.kit.clock import utcnow
from citywitness.storage.backend import BlobBackend, blob_name
from citywitness.storage.errors import (
    HashMismatch,
    InsufficientStorage,
    KeyDestroyed,
    ObjectDestroyed,
    ObjectNotFound,
    RangeNotSatisfiable,
)
from citywitness.storage.format import stored_size
from citywitness.storage.keys import KeyWrapper
from citywitness.storage.keystore import Guard, KeyRecord, KeyStore, Usage
from citywitness.storage.pipeline import (
    PIPELINE_BATCH_BYTES,
    SideFunction,
    WritePipeline,
    run_job,
)
from citywitness.storage.reading import ObjectMissing, OpenObject, object_context
from citywitness.storage.staging import PartialUpload, StagedWriter, read_checkpoint, upload_dir

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
INLINE_BYTES = 256 * 1024
READ_BATCH_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    sha256: str
    size: int
    stored_size: int
    object_id: uuid.UUID
    kek_id: str
    created_at: datetime
    deduplicated: bool = False

    @classmethod
    def of(cls, record: KeyRecord, *, deduplicated: bool = False) -> StoredObject:
        return cls(
            sha256=record.sha256,
            size=record.size,
            stored_size=record.stored_size,
            object_id=record.object_id,
            kek_id=record.kek_id,
            created_at=record.created_at,
            deduplicated=deduplicated,
        )


def _check_sha(sha256: str) -> str:
    if not SHA256_HEX.match(sha256):
        raise ObjectNotFound(fields={"sha256": "64 lowercase hex digits"})
    return sha256


class ObjectWriter:
    """One upload: `write` as bytes arrive, `checkpoint` to acknowledge, then `finish`.

    Calls on one writer are serialized; heavy work (encryption, file I/O) runs in a thread.
    """

    def __init__(self, store: ContentStore, core: StagedWriter) -> None:
        self._store = store
        self._core = core
        self._lock = asyncio.Lock()

    @property
    def upload_id(self) -> str:
        return self._core.upload_id

    @property
    def offset(self) -> int:
        return self._core.offset

    @property
    def info(self) -> dict[str, str]:
        return dict(self._core.state.info)

    async def write(self, data: bytes | memoryview) -> None:
        async with self._lock:
            small = len(data) <= INLINE_BYTES
            if small and self._core.buffered + len(data) <= self._core.state.chunk_size:
                self._core.write(data)  # hashing a small piece costs microseconds
            else:
                await asyncio.to_thread(self._core.write, data)

    @contextlib.asynccontextmanager
    async def pipeline(
        self, side: SideFunction | None = None, batch_bytes: int = PIPELINE_BATCH_BYTES
    ) -> AsyncIterator[WritePipeline]:
        """Write a long stream with receiving and sealing overlapped (storage/pipeline.py).

        Leaving the block normally flushes every piece into the upload (not yet durable:
        `checkpoint` does that); on an error the batches in flight are waited for, not
        written on, and the writer is to be resumed from its last checkpoint.
        """
        async with self._lock:
            pipe = WritePipeline(self._core, side, batch_bytes)
            try:
                yield pipe
                await pipe.flush()
            finally:
                await pipe.settle()

    async def checkpoint(self) -> int:
        async with self._lock:
            return await run_job(self._core.checkpoint)

    async def finish(
        self, expected_sha256: str | None = None, *, keep_staging: bool = False
    ) -> StoredObject:
        """Seal, verify the digest, deduplicate, store bytes then key; idempotent on resume.

        With `keep_staging`, the sealed upload's checkpoint stays until the caller has
        recorded the object and calls `ContentStore.discard_upload`: a crash before that
        finds the upload still sealed and `finish` of the resumed writer returns the same
        object again (the caller's completion is then idempotent too).
        """
        async with self._lock:
            try:
                return await self._store.commit_upload(
                    self._core, expected_sha256, keep_staging=keep_staging
                )
            finally:
                self._store.release_reservation(self.upload_id)

    async def abort(self) -> None:
        """Remove everything this upload wrote."""
        async with self._lock:
            await asyncio.to_thread(self._core.discard)
            self._store.release_reservation(self.upload_id)


class ContentStore:
    """Encrypted content-addressed objects: write, read ranges, destroy, account."""

    def __init__(
        self,
        *,
        backend: BlobBackend,
        keys: KeyStore,
        wrapper: KeyWrapper,
        staging_dir: Path,
        chunk_size: int = 1024 * 1024,
        min_free_bytes: int = 0,
        max_bytes: int | None = None,
    ) -> None:
        self.backend = backend
        self.keys = keys
        self.wrapper = wrapper
        self.staging_dir = staging_dir.absolute()
        self.chunk_size = chunk_size
        self.min_free_bytes = min_free_bytes
        self.max_bytes = max_bytes
        self._reserved: dict[str, int] = {}

    # -- writing -------------------------------------------------------------------------

    async def open_writer(
        self,
        *,
        upload_id: str | None = None,
        expected_size: int | None = None,
        info: dict[str, str] | None = None,
    ) -> ObjectWriter:
        """Start an upload; with `expected_size`, refuse it up front (507) if it won't fit."""
        upload_id = upload_id or secrets.token_hex(16)
        upload_dir(self.staging_dir, upload_id)  # validates the id before anything is made
        reserved_here = expected_size is not None and upload_id not in self._reserved
        if expected_size is not None:
            await self.ensure_capacity(expected_size)
            if reserved_here:
                self._reserved[upload_id] = expected_size
        try:
            core = await asyncio.to_thread(
                StagedWriter.create,
                self.staging_dir,
                upload_id,
                self.wrapper,
                self.chunk_size,
                info,
            )
        except BaseException:
            if reserved_here:
                self.release_reservation(upload_id)
            raise
        return ObjectWriter(self, core)

    async def resume_writer(self, upload_id: str) -> ObjectWriter:
        """Reopen a partial upload after a restart (re-hashes its durable bytes once)."""
        core = await asyncio.to_thread(
            StagedWriter.resume, self.staging_dir, upload_id, self.wrapper
        )
        return ObjectWriter(self, core)

    async def partial(self, upload_id: str) -> PartialUpload:
        """The checkpointed state of a partial upload, without resuming it."""
        directory = upload_dir(self.staging_dir, upload_id)
        return await asyncio.to_thread(read_checkpoint, directory)

    async def discard_upload(self, upload_id: str) -> None:
        """Remove a partial (or sealed and kept) upload's staging directory; idempotent."""
        directory = upload_dir(self.staging_dir, upload_id)
        await asyncio.to_thread(shutil.rmtree, directory, True)
        self.release_reservation(upload_id)

    def release_reservation(self, upload_id: str) -> None:
        """Forget the capacity held for an upload (it finished or was aborted)."""
        self._reserved.pop(upload_id, None)

    async def commit_upload(
        self, core: StagedWriter, expected: str | None, *, keep_staging: bool = False
    ) -> StoredObject:
        """Seal and store an upload (`ObjectWriter.finish`); the steps in the module doc."""
        sealed = await run_job(core.seal)
        if expected is not None and expected.lower() != sealed.sha256:
            await asyncio.to_thread(core.discard)
            raise HashMismatch(fields={"expected": expected.lower(), "actual": sealed.sha256})
        existing = await self.keys.get(sealed.sha256)
        object_id = uuid.UUID(bytes=core.state.object_id)
        if existing is not None and existing.object_id != object_id:
            if existing.destroyed or not keep_staging:
                await asyncio.to_thread(core.discard)
            if existing.destroyed:
                raise ObjectDestroyed(fields={"sha256": sealed.sha256})
            return StoredObject.of(existing, deduplicated=True)
        if existing is None:
            name = blob_name(sealed.sha256, object_id)
            await asyncio.to_thread(self._put_sealed, core, name)
            wrapped = self.wrapper.wrap(core.data_key, object_context(sealed.sha256, object_id))
            record = KeyRecord(
                sha256=sealed.sha256,
                object_id=object_id,
                size=sealed.size,
                stored_size=sealed.stored_size,
                chunk_size=core.state.chunk_size,
                wrapped_key=wrapped,
                kek_id=self.wrapper.kek_id,
                created_at=utcnow(),
            )
            existing = await self.keys.add(record)
            if existing.object_id != object_id:  # another writer won the race: keep theirs
                await asyncio.to_thread(self.backend.delete, name)
        if not keep_staging:
            await asyncio.to_thread(core.discard)
        return StoredObject.of(existing, deduplicated=existing.object_id != object_id)

    def _put_sealed(self, core: StagedWriter, name: str) -> None:
        if core.blob_path.exists():
            self.backend.put_file(name, core.blob_path)
        elif self.backend.size(name) is None:  # resumed after a crash mid-finish
            raise ObjectMissing("a sealed upload lost its bytes before they were stored")

    # -- reading -------------------------------------------------------------------------

    async def _record(self, sha256: str) -> KeyRecord:
        record = await self.keys.get(_check_sha(sha256))
        if record is None:
            raise ObjectNotFound(fields={"sha256": sha256})
        if record.destroyed:
            raise KeyDestroyed(fields={"sha256": sha256})
        return record

    async def stat(self, sha256: str) -> StoredObject:
        return StoredObject.of(await self._record(sha256))

    async def exists(self, sha256: str) -> bool:
        if not SHA256_HEX.match(sha256):
            return False
        record = await self.keys.get(sha256)
        return record is not None and not record.destroyed

    async def open_object(self, sha256: str) -> OpenObject:
        record = await self._record(sha256)
        return await asyncio.to_thread(OpenObject.open, record, self.backend, self.wrapper)

    async def read_range(
        self, sha256: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Plaintext bytes [start, end) (end defaults to the size); decrypts only those chunks."""
        opened = await self.open_object(sha256)
        try:
            end = opened.size if end is None else end
            if not 0 <= start <= end <= opened.size:
                raise RangeNotSatisfiable(fields={"size": opened.size})
            if start == end:
                return
            size = opened.chunk_size
            batch = max(1, READ_BATCH_BYTES // size)
            first, last = start // size, (end - 1) // size
            for lo in range(first, last + 1, batch):
                hi = min(last, lo + batch - 1)
                chunks = await asyncio.to_thread(opened.read_chunks, lo, hi)
                for index, plain in enumerate(chunks, start=lo):
                    base = index * size
                    yield plain[max(0, start - base) : min(len(plain), end - base)]
        finally:
            opened.close()

    async def read_all(self, sha256: str) -> bytes:
        return b"".join([part async for part in self.read_range(sha256)])

    async def verify(
        self, sha256: str, on_bytes: Callable[[int], Awaitable[None]] | None = None
    ) -> int:
        """Re-decrypt and re-hash one object; the bytes checked.  Raises on any problem."""
        opened = await self.open_object(sha256)
        digest = hashlib.sha256()
        try:
            batch = max(1, READ_BATCH_BYTES // opened.chunk_size)
            for lo in range(0, opened.chunks, batch):
                hi = min(opened.chunks - 1, lo + batch - 1)
                chunks = await asyncio.to_thread(opened.read_chunks, lo, hi)
                for plain in chunks:
                    digest.update(plain)
                if on_bytes is not None:
                    await on_bytes(sum(len(plain) for plain in chunks))
        finally:
            opened.close()
        if digest.hexdigest() != sha256:
            raise HashMismatch("stored bytes decrypt but do not hash to their SHA-256")
        return opened.size

    # -- destruction and capacity --------------------------------------------------------

    async def destroy(self, sha256: str, *, unless: Guard | None = None) -> KeyRecord:
        """Crypto-shred: destroy the wrapped data key first, then delete the bytes.

        Idempotent (a second call retries the byte deletion).  With `unless`, the key is
        kept if `unless()` is true under the row lock (see `KeyStore.destroy`).
        """
        record = await self.keys.destroy(_check_sha(sha256), unless=unless)
        if record is None:
            raise ObjectNotFound(fields={"sha256": sha256})
        if record.destroyed:
            await asyncio.to_thread(self.backend.delete, blob_name(sha256, record.object_id))
        return record

    async def usage(self) -> Usage:
        return await self.keys.usage()

    async def ensure_capacity(self, nbytes: int) -> None:
        """Refuse (507) a write of `nbytes` that would not fit; nothing is written either way."""
        need = stored_size(nbytes, self.chunk_size) + sum(self._reserved.values())
        staging_free = shutil.disk_usage(self._existing(self.staging_dir)).free
        backend_free = await asyncio.to_thread(self.backend.free_bytes)
        for free in (staging_free, backend_free):
            if free is not None and free - self.min_free_bytes < need:
                raise InsufficientStorage(fields={"needed": need, "free": free})
        if self.max_bytes is not None:
            used = (await self.keys.usage()).stored_bytes
            if used + need > self.max_bytes:
                raise InsufficientStorage(fields={"needed": need, "free": self.max_bytes - used})

    @staticmethod
    def _existing(path: Path) -> Path:
        while not path.exists():
            path = path.parent
        return path
