"""Completing a tus upload: store the object, register the evidence item, exactly once.

Completion runs when the last byte of an upload is durable: at the end of the PATCH that
brings it, or (after a crash) at the next HEAD or PATCH that finds every byte durable.
Its durable steps, and what a crash just after each one leaves:

1. seal: the staging checkpoint says `sealed`.  After a crash: the sealed writer is
   resumed and completion goes on with 2.
2. put + key: the object is in the backend with its key record; the staging checkpoint
   stays.  After a crash: `finish` of the resumed writer finds the object and returns it
   (no second copy); completion goes on with 3.
3. register: the item and the `completed` upload row, in one transaction.  After a crash:
   the upload answers with its item (HEAD, or 409 to a PATCH) and the staging leftovers
   are removed.
4. discard: the staging directory is removed.

The staging checkpoint is removed only once the upload row says how it ended (completed
or refused), so there is no moment at which the bytes are stored but the upload forgot
them.  Registration locks the upload row and does nothing if it is already completed;
`register_object` links an existing item with the same content: one item, whatever the
number of attempts.
"""

from __future__ import annotations

from sqlalchemy import select

from citywitness.audit.service import Outcome
from citywitness.evidence.ingest import register_object
from citywitness.evidence.models import IngestChannel, Upload, UploadState
from citywitness.evidence.schemas import IngestMetadata
from citywitness.evidence.tus import UPLOAD, CallContext, Snapshot, UploadStatus, ensure_open
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError
from citywitness.storage import ContentStore, ObjectWriter, StoredObject


class UploadCompleter:
    """Steps 1-4 of the module doc for one upload whose every byte is durable."""

    def __init__(self, db: Database, store: ContentStore) -> None:
        self.db = db
        self.store = store

    async def complete(
        self, ctx: CallContext, snap: Snapshot, writer: ObjectWriter
    ) -> UploadStatus:
        """Store, register, then discard staging; refused uploads end `terminated`."""
        try:
            stored = await writer.finish(snap.expected_sha256, keep_staging=True)
            status = await self._register(ctx, snap, stored)
        except AppError as exc:  # digest, not media, empty, quota...: nothing is registered
            await self._refuse(ctx, snap, exc)
            await self.store.discard_upload(snap.storage_id)
            raise
        await self.store.discard_upload(snap.storage_id)
        return status

    async def _register(
        self, ctx: CallContext, snap: Snapshot, stored: StoredObject
    ) -> UploadStatus:
        async with self.db.transaction() as session:
            auditor = ctx.auditor(session)
            upload = await session.scalar(
                select(Upload).where(Upload.id == snap.id).with_for_update()
            )
            assert upload is not None  # noqa: S101 - uploads are never deleted
            if upload.state == UploadState.COMPLETED:  # an earlier attempt committed
                return UploadStatus(snap.id, snap.length, snap.length, None, upload.evidence_id)
            if upload.state != UploadState.OPEN:
                ensure_open(upload)  # 410: terminated or expired meanwhile
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
