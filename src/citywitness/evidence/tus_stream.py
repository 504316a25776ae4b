"""Receiving a tus upload's bytes and completing it (PATCH, and HEAD's crash recovery).

A PATCH body streams straight into the upload's `ObjectWriter`: hashed (whole file, and
per PATCH when `Upload-Checksum` is sent) and encrypted as it arrives, never read twice.
It runs as three units of work, because a body may take minutes and must not hold a
database transaction open: load and check the upload; stream (no transaction); record
the new offset, or complete the upload.

Durability: an offset is reported (PATCH response, HEAD) only once the writer's
checkpoint holds it.  Without `Upload-Checksum` a long body is checkpointed every
`upload_checkpoint_bytes`, and when the client goes away what arrived is kept.  With it,
nothing of a PATCH is kept unless the whole body matches (460 otherwise).  The writer of
an upload stays in this process between PATCHes; a writer kept there has every byte it
received checkpointed.  After a failed PATCH, or a restart, the writer is reopened from
its last checkpoint (`ContentStore.resume_writer`), which drops unacknowledged bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.audit.service import Outcome
from citywitness.evidence.ingest import register_object
from citywitness.evidence.models import IngestChannel, Upload, UploadState
from citywitness.evidence.schemas import IngestMetadata
from citywitness.evidence.tus import (
    UPLOAD,
    CallContext,
    UploadStatus,
    ensure_open,
    load_visible,
)
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
from citywitness.kit.errors import AppError
from citywitness.settings import EvidenceSettings
from citywitness.storage import ContentStore, ObjectWriter, StoredObject
from citywitness.storage.errors import UploadNotFound


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


@dataclass(frozen=True)
class Snapshot:
    """What a PATCH needs of the upload row, read in the first unit of work."""

    id: uuid.UUID
    storage_id: str
    length: int
    offset: int
    department_id: uuid.UUID
    created_by: uuid.UUID
    expected_sha256: str | None
    metadata: dict[str, Any]

    @classmethod
    def of(cls, upload: Upload) -> Snapshot:
        return cls(
            upload.id,
            upload.storage_upload_id,
            upload.upload_length,
            upload.upload_offset,
            upload.department_id,
            upload.created_by,
            upload.expected_sha256,
            dict(upload.metadata_),
        )


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

    @staticmethod
    async def snapshot(session: AsyncSession, ctx: CallContext, upload_id: uuid.UUID) -> Snapshot:
        """The caller's open upload (404 / 409 / 410 otherwise), in the caller's transaction."""
        upload = await load_visible(session, ctx.principal, upload_id)
        if upload.state == UploadState.COMPLETED:
            offset = str(upload.upload_length)
            raise UploadOffsetMismatch(headers=tus_headers(**{"Upload-Offset": offset}))
        ensure_open(upload)
        return Snapshot.of(upload)

    async def _still_open(self, snap: Snapshot) -> None:
        """Re-check under this process's lock: a DELETE may have won the race."""
        async with self.db.transaction() as session:
            upload = await session.get(Upload, snap.id)
            assert upload is not None  # noqa: S101 - uploads are never deleted
            if upload.state == UploadState.COMPLETED:
                offset = str(upload.upload_length)
                raise UploadOffsetMismatch(headers=tus_headers(**{"Upload-Offset": offset}))
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
                raise UploadOffsetMismatch(
                    headers=tus_headers(**{"Upload-Offset": str(writer.offset)})
                )
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
        hasher = hashlib.sha256() if patch.checksum is not None else None
        received, since_checkpoint = writer.offset, 0
        every = self.settings.upload_checkpoint_bytes
        async for piece in patch.body:
            if not piece:
                continue
            received += len(piece)
            if received > snap.length:
                raise UploadTooLarge(fields={"body": "runs past Upload-Length"})
            if hasher is not None:
                hasher.update(piece)
            await writer.write(piece)
            since_checkpoint += len(piece)
            if hasher is None and since_checkpoint >= every:
                await writer.checkpoint()
                since_checkpoint = 0
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
            stored = await writer.finish(snap.expected_sha256)
        except AppError as exc:  # HashMismatch: the staging bytes are gone
            self.registry.forget(snap.storage_id)
            await self._refuse(ctx, snap, exc)
            raise
        self.registry.forget(snap.storage_id)
        try:
            return await self._register(ctx, snap, stored)
        except AppError as exc:  # not media, empty, quota...: the object stays unreferenced
            await self._refuse(ctx, snap, exc)
            raise

    async def _register(
        self, ctx: CallContext, snap: Snapshot, stored: StoredObject
    ) -> UploadStatus:
        async with self.db.transaction() as session:
            auditor = ctx.auditor(session)
            upload = await session.scalar(
                select(Upload).where(Upload.id == snap.id).with_for_update()
            )
            assert upload is not None  # noqa: S101 - uploads are never deleted
            registered = await register_object(
                session,
                auditor,
                store=self.store,
                stored=stored,
                department_id=snap.department_id,
                uploaded_by=snap.created_by,
                channel=IngestChannel.TUS,
                meta=IngestMetadata.parse(snap.metadata),
                upload_id=snap.id,
            )
            upload.state = UploadState.COMPLETED
            upload.upload_offset = snap.length
            upload.evidence_id = registered.item.id
            await auditor.record(
                "evidence.upload_completed",
                object_type=UPLOAD,
                object_id=upload.id,
                department_id=upload.department_id,
                details={"evidence_id": str(registered.item.id), "sha256": stored.sha256},
            )
        return UploadStatus(
            snap.id, snap.length, snap.length, None, registered.item.id, not registered.created
        )

    async def _refuse(self, ctx: CallContext, snap: Snapshot, exc: AppError) -> None:
        """The completed bytes were refused: the upload ends (its row says why)."""
        async with self.db.transaction() as session:
            upload = await session.get(Upload, snap.id, with_for_update=True)
            if upload is None or upload.state != UploadState.OPEN:
                return
            upload.state = UploadState.TERMINATED
            upload.metadata_ = {**upload.metadata_, "refused": exc.code}
            await ctx.auditor(session).record(
                "evidence.upload_refused",
                outcome=Outcome.FAILURE,
                object_type=UPLOAD,
                object_id=upload.id,
                department_id=upload.department_id,
                details={"code": exc.code},
            )
