"""Receiving a tus upload's bytes (PATCH), and completing it when the last one is durable.

A PATCH body streams straight into the upload's `ObjectWriter` through a pipeline
(`ObjectWriter.pipeline`): while the event loop receives the next batch, worker threads
hash the previous one (whole file; and, with `Upload-Checksum`, the PATCH in a second
thread at the same time) and encrypt and append it.  Nothing is read twice.  A PATCH runs
as three units of work, because a body may take minutes and must not hold a database
transaction open: load and check the upload; stream (no transaction); record the new
offset, or complete the upload (`tus_complete.py`).

Durability: an offset is reported (PATCH response, HEAD) only once the writer's
checkpoint holds it.  Without `Upload-Checksum` a long body is checkpointed every
`upload_checkpoint_bytes`, and when the client goes away what arrived is kept.  With it,
nothing of a PATCH is kept unless the whole body matches (460 otherwise).  The writer of
an upload stays in this process between PATCHes; a writer kept there has every byte it
received checkpointed.  After a failed PATCH, or a restart, the writer is reopened from
its last checkpoint (`ContentStore.resume_writer`), which drops unacknowledged bytes.

A restart can also find every byte durable but the upload not completed (a crash during
completion): the next HEAD completes it, and so does a retried PATCH, which is then
answered 409 with `Upload-Offset` at the end and the item in `CW-Evidence-Id`.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.evidence.models import Upload, UploadState
from citywitness.evidence.tus import (
    CallContext,
    Snapshot,
    UploadStatus,
    completed_status,
    discard_staging,
    ensure_open,
    load_visible,
)
from citywitness.evidence.tus_complete import UploadCompleter
from citywitness.evidence.tus_protocol import (
    Checksum,
    ChecksumMismatch,
    UploadLost,
    UploadOffsetMismatch,
    UploadTooLarge,
    tus_headers,
)
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.settings import EvidenceSettings
from citywitness.storage import ContentStore, ObjectWriter
from citywitness.storage.errors import UploadNotFound


def _hash_batch(hasher: Any, batch: Sequence[bytes | memoryview]) -> None:
    """The per-PATCH SHA-256, in its own thread beside the writer's (see `_stream`)."""
    for piece in batch:
        hasher.update(piece)


class BodyInterrupted(Exception):
    """The client went away before the body ended."""


@dataclass
class _Live:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    writer: ObjectWriter | None = None


class UploadRegistry:
    """This process's writers of uploads in progress, one per upload, kept between PATCHes."""

    def __init__(self) -> None:
        self._live: dict[str, _Live] = {}

    def entry(self, storage_upload_id: str) -> _Live:
        return self._live.setdefault(storage_upload_id, _Live())

    def forget(self, storage_upload_id: str) -> None:
        self._live.pop(storage_upload_id, None)


@dataclass(frozen=True)
class PatchRequest:
    upload_id: uuid.UUID
    offset: int
    checksum: Checksum | None
    content_length: int | None
    body: AsyncIterator[bytes]


class UploadReceiver:
    """PATCH and HEAD of tus uploads in one process (see the module doc)."""

    def __init__(
        self,
        db: Database,
        store: ContentStore,
        settings: EvidenceSettings,
        registry: UploadRegistry,
    ) -> None:
        self.db = db
        self.store = store
        self.settings = settings
        self.registry = registry
        self.completer = UploadCompleter(db, store)

    async def snapshot(
        self, session: AsyncSession, ctx: CallContext, upload_id: uuid.UUID
    ) -> Snapshot:
        """The caller's open upload (404 / 409 / 410 otherwise), in the caller's transaction."""
        upload = await load_visible(session, ctx.principal, upload_id)
        await self._refuse_completed(upload)
        ensure_open(upload)
        return Snapshot.of(upload)

    async def _refuse_completed(self, upload: Upload) -> None:
        """409 for a PATCH to a completed upload: its end offset and its item."""
        if upload.state == UploadState.COMPLETED:
            await discard_staging(self.store, upload.storage_upload_id)  # crash leftovers
            raise UploadOffsetMismatch(headers=completed_status(upload).headers())

    async def _still_open(self, snap: Snapshot) -> None:
        """Re-check under this process's lock: a DELETE may have won the race."""
        async with self.db.transaction() as session:
            upload = await session.get(Upload, snap.id)
            assert upload is not None  # noqa: S101 - uploads are never deleted
            await self._refuse_completed(upload)
            ensure_open(upload)

    async def _writer(self, snap: Snapshot) -> ObjectWriter:
        try:
            return await self.store.resume_writer(snap.storage_id)
        except UploadNotFound:
            if snap.offset != 0:
                raise UploadLost(headers=tus_headers()) from None
        return await self.store.open_writer(
            upload_id=snap.storage_id, expected_size=snap.length, info={"upload": str(snap.id)}
        )

    async def receive(self, ctx: CallContext, snap: Snapshot, patch: PatchRequest) -> UploadStatus:
        """PATCH: append the body at `patch.offset`; complete the upload at its last byte."""
        live = self.registry.entry(snap.storage_id)
        async with live.lock:
            await self._still_open(snap)
            if live.writer is None:
                live.writer = await self._writer(snap)
            writer = live.writer
            if patch.offset != writer.offset:
                headers = {"Upload-Offset": str(writer.offset)}
                if writer.offset == snap.length:  # a retry after a crash during completion
                    headers = (await self._complete(ctx, snap, writer)).headers()
                raise UploadOffsetMismatch(headers=tus_headers(**headers))
            if patch.content_length is not None and (
                patch.offset + patch.content_length > snap.length
            ):
                raise UploadTooLarge(fields={"Content-Length": "past Upload-Length"})
            try:
                durable = await self._stream(writer, snap, patch)
            except BodyInterrupted:
                if patch.checksum is not None:
                    live.writer = None
                else:  # keep what arrived: it is checkpointed and reported by HEAD
                    await self._record_offset(snap, await writer.checkpoint())
                raise
            except BaseException:
                live.writer = None  # reopened from its last checkpoint next time
                raise
            if durable == snap.length:
                return await self._complete(ctx, snap, writer)
            return await self._record_offset(snap, durable)

    async def _stream(self, writer: ObjectWriter, snap: Snapshot, patch: PatchRequest) -> int:
        """Pipe the body into the writer; the durable offset at its end (checksum verified)."""
        hasher = hashlib.sha256() if patch.checksum is not None else None
        side = None if hasher is None else partial(_hash_batch, hasher)
        every = self.settings.upload_checkpoint_bytes if hasher is None else None
        received = writer.offset
        async with writer.pipeline(side=side) as pipe:
            try:
                async for piece in patch.body:
                    received += len(piece)
                    if received > snap.length:
                        raise UploadTooLarge(fields={"body": "runs past Upload-Length"})
                    await pipe.write(piece)
                    if every is not None and pipe.since_checkpoint >= every:
                        await pipe.checkpoint()
            except BodyInterrupted:
                if hasher is None:  # keep what arrived (`receive` checkpoints it)
                    await pipe.flush()
                raise
        checksum = patch.checksum
        if checksum is not None and hasher is not None and hasher.digest() != checksum.digest:
            raise ChecksumMismatch(headers=tus_headers(**{"Upload-Offset": str(patch.offset)}))
        return await writer.checkpoint()

    async def _record_offset(self, snap: Snapshot, offset: int) -> UploadStatus:
        expires = utcnow() + timedelta(seconds=self.settings.upload_expiry_seconds)
        async with self.db.transaction() as session:
            upload = await session.get(Upload, snap.id, with_for_update=True)
            if upload is not None and upload.state == UploadState.OPEN:
                upload.upload_offset = offset
                upload.expires_at = expires
        return UploadStatus(snap.id, offset, snap.length, expires)

    async def recover(self, ctx: CallContext, snap: Snapshot) -> UploadStatus:
        """HEAD found every byte of an open upload durable (a crash before it completed):
        complete it now, so the client learns its evidence id."""
        live = self.registry.entry(snap.storage_id)
        async with live.lock:
            await self._still_open(snap)
            writer = live.writer or await self._writer(snap)
            live.writer = writer
            return await self._complete(ctx, snap, writer)

    async def _complete(
        self, ctx: CallContext, snap: Snapshot, writer: ObjectWriter
    ) -> UploadStatus:
        try:
            return await self.completer.complete(ctx, snap, writer)
        finally:  # done, or refused: either way a later request starts from the disk
            self.registry.forget(snap.storage_id)
