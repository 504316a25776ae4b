"""Background jobs of the evidence vault: thumbnails and browser proxies.

`make_derivatives` is deferred in the transaction that registers an item.  It decrypts the
original in a worker thread, makes what the item lacks (a JPEG thumbnail for video and
photos; a low-bitrate H.264/AAC proxy for video up to `evidence.proxy_max_seconds`),
stores each through the ContentStore and records it in `evidence_derivatives`, keyed by
(item, kind): a rerun after a crash makes only what is still missing.  Derivatives are
built in memory, so no plaintext ever reaches a disk.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from typing import Any

from procrastinate import JobContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.audit.service import Auditor
from citywitness.evidence.derivative_models import Derivative, DerivativeKind
from citywitness.evidence.media import StoredObjectFile
from citywitness.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from citywitness.evidence.runtime import store_for
from citywitness.evidence.transcode import Picture, ProxySettings, make_proxy, make_thumbnail
from citywitness.kit.db import Database
from citywitness.kit.jobs import PLATFORM_RETRY, Queue, TaskBlueprint, defer, insert_once, resources
from citywitness.settings import EvidenceSettings
from citywitness.storage import ContentStore, StoredObject, lock_live_key

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("evidence")


@blueprint.task(name="make_derivatives", queue=Queue.CPU, pass_context=True, retry=PLATFORM_RETRY)
async def make_derivatives(context: JobContext, evidence_id: str) -> dict[str, str]:
    """Thumbnail and proxy of one item (idempotent)."""
    found = resources(context)
    store = store_for(found.settings, found.db)
    return await build_derivatives(found.db, store, found.settings.evidence, uuid.UUID(evidence_id))


async def defer_derivatives(session: AsyncSession, evidence_id: uuid.UUID) -> int:
    """Queue `make_derivatives` for an item, in the caller's transaction."""
    return await defer(session, make_derivatives, evidence_id=str(evidence_id))


def wanted_kinds(item: EvidenceItem, settings: EvidenceSettings) -> set[DerivativeKind]:
    if item.kind == EvidenceKind.PHOTO:
        return {DerivativeKind.THUMBNAIL}
    if item.kind != EvidenceKind.VIDEO:
        return set()
    kinds = {DerivativeKind.THUMBNAIL}
    if item.duration_seconds is None or item.duration_seconds <= settings.proxy_max_seconds:
        kinds.add(DerivativeKind.PROXY)
    return kinds


async def _missing(
    db: Database, evidence_id: uuid.UUID, settings: EvidenceSettings
) -> tuple[EvidenceItem | None, set[DerivativeKind]]:
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, evidence_id)
        if item is None or item.state != EvidenceState.ACTIVE:
            return None, set()
        made = set(
            await session.scalars(select(Derivative.kind).where(Derivative.evidence_id == item.id))
        )
        return item, {k for k in wanted_kinds(item, settings) if k.value not in made}


def _render(
    opened: Any, kinds: set[DerivativeKind], settings: EvidenceSettings
) -> dict[DerivativeKind, Picture]:
    """Runs in a thread: the requested derivatives as (bytes, width, height)."""
    made: dict[DerivativeKind, Picture] = {}
    if DerivativeKind.THUMBNAIL in kinds:
        with StoredObjectFile(opened) as source:
            thumb = make_thumbnail(source, settings.thumbnail_width)  # type: ignore[arg-type]
        if thumb is not None:
            made[DerivativeKind.THUMBNAIL] = thumb
    if DerivativeKind.PROXY in kinds:
        opts = ProxySettings(
            settings.proxy_height, settings.proxy_video_bitrate, settings.proxy_audio_bitrate
        )
        buffer = io.BytesIO()
        with StoredObjectFile(opened) as source:
            width, height = make_proxy(source, buffer, opts)  # type: ignore[arg-type]
        made[DerivativeKind.PROXY] = Picture(buffer.getvalue(), width, height)
    return made


async def _store_bytes(store: ContentStore, data: bytes) -> StoredObject:
    writer = await store.open_writer(expected_size=len(data))
    try:
        await writer.write(data)
    except BaseException:
        await writer.abort()
        raise
    return await writer.finish()


MEDIA_TYPES = {DerivativeKind.THUMBNAIL: "image/jpeg", DerivativeKind.PROXY: "video/mp4"}


async def _record(
    db: Database, item_id: uuid.UUID, kind: DerivativeKind, stored: StoredObject, pic: Picture
) -> bool:
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, item_id, with_for_update={"read": True})
        if item is None or item.state != EvidenceState.ACTIVE:
            return False
        if not await lock_live_key(session, stored.sha256):
            return False
        values = {
            "id": uuid.uuid4(),
            "evidence_id": item_id,
            "kind": kind.value,
            "sha256": stored.sha256,
            "size_bytes": stored.size,
            "media_type": MEDIA_TYPES[kind],
            "width": pic.width,
            "height": pic.height,
        }
        inserted = await insert_once(session, Derivative, values)
        if inserted:
            await Auditor(session=session, actor=None, actor_kind="system").record(
                "evidence.derivative_made",
                object_type="evidence",
                object_id=item_id,
                department_id=item.department_id,
                details={"kind": kind.value, "sha256": stored.sha256, "size_bytes": stored.size},
            )
        return inserted


async def build_derivatives(
    db: Database, store: ContentStore, settings: EvidenceSettings, evidence_id: uuid.UUID
) -> dict[str, str]:
    """Make and record what the item lacks; `{kind: "made" | "kept" | "none"}`."""
    item, kinds = await _missing(db, evidence_id, settings)
    if item is None or not kinds:
        return {}
    opened = await store.open_object(item.sha256)
    try:
        made = await asyncio.to_thread(_render, opened, kinds, settings)
    finally:
        opened.close()
    result = {kind.value: "none" for kind in kinds}
    for kind, picture in made.items():
        stored = await _store_bytes(store, picture.data)
        inserted = await _record(db, item.id, kind, stored, picture)
        result[kind.value] = "made" if inserted else "kept"
    log.info("evidence derivatives", extra={"evidence_id": str(evidence_id), "result": result})
    return result
