"""Background jobs of the evidence vault: thumbnails and browser proxies.

`make_derivatives` is deferred in the transaction that registers an item.  It decrypts the
original in a worker thread, makes what the item lacks (a JPEG thumbnail for video and
photos; a low-bitrate proxy up to `evidence.proxy_max_seconds`: H.264/AAC MP4 for video,
mono AAC MP4 for audio, so a browser plays AMR, PCM WAV and the like), stores each
through the ContentStore and records it in `evidence_derivatives`, keyed by (item,
kind): a rerun after a crash makes only what is still missing.  Derivatives are built in
memory, so no plaintext ever reaches a disk.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from procrastinate import JobContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.audit.service import Auditor
from citywitness.evidence import custody
from citywitness.evidence.derivative_models import Derivative, DerivativeKind
from citywitness.evidence.media import StoredObjectFile
from citywitness.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from citywitness.evidence.runtime import store_for
from citywitness.evidence.transcode import (
    ProxySettings,
    make_audio_proxy,
    make_proxy,
    make_thumbnail,
)
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
    if item.kind not in {EvidenceKind.VIDEO, EvidenceKind.AUDIO}:
        return set()
    kinds = {DerivativeKind.THUMBNAIL} if item.kind == EvidenceKind.VIDEO else set()
    if item.duration_seconds is None or item.duration_seconds <= settings.proxy_max_seconds:
        kinds.add(DerivativeKind.PROXY)
    return kinds


@dataclass(frozen=True)
class Made:
    """A derivative's bytes and what its row says about them."""

    data: bytes
    media_type: str
    width: int | None = None
    height: int | None = None


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
    opened: Any, kinds: set[DerivativeKind], settings: EvidenceSettings, *, audio: bool
) -> dict[DerivativeKind, Made]:
    """Runs in a thread: the requested derivatives (`audio`: of an audio item)."""
    made: dict[DerivativeKind, Made] = {}
    if DerivativeKind.THUMBNAIL in kinds:
        with StoredObjectFile(opened) as source:
            thumb = make_thumbnail(source, settings.thumbnail_width)  # type: ignore[arg-type]
        if thumb is not None:
            made[DerivativeKind.THUMBNAIL] = Made(
                thumb.data, "image/jpeg", thumb.width, thumb.height
            )
    if DerivativeKind.PROXY in kinds and audio:
        buffer = io.BytesIO()
        with StoredObjectFile(opened) as source:
            bitrate = settings.proxy_audio_bitrate
            if make_audio_proxy(source, buffer, bitrate):  # type: ignore[arg-type]
                made[DerivativeKind.PROXY] = Made(buffer.getvalue(), "audio/mp4")
    elif DerivativeKind.PROXY in kinds:
        opts = ProxySettings(
            settings.proxy_height, settings.proxy_video_bitrate, settings.proxy_audio_bitrate
        )
        buffer = io.BytesIO()
        with StoredObjectFile(opened) as source:
            width, height = make_proxy(source, buffer, opts)  # type: ignore[arg-type]
        made[DerivativeKind.PROXY] = Made(buffer.getvalue(), "video/mp4", width, height)
    return made


async def _store_bytes(store: ContentStore, data: bytes) -> StoredObject:
    writer = await store.open_writer(expected_size=len(data))
    try:
        await writer.write(data)
    except BaseException:
        await writer.abort()
        raise
    return await writer.finish()


async def _record(
    db: Database, item_id: uuid.UUID, kind: DerivativeKind, stored: StoredObject, made: Made
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
            "media_type": made.media_type,
            "width": made.width,
            "height": made.height,
        }
        inserted = await insert_once(session, Derivative, values)
        if inserted:
            await custody.record(
                Auditor(session=session, actor=None, actor_kind="system"),
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
        audio = item.kind == EvidenceKind.AUDIO
        made = await asyncio.to_thread(_render, opened, kinds, settings, audio=audio)
    finally:
        opened.close()
    result = {kind.value: "none" for kind in kinds}
    for kind, derivative in made.items():
        stored = await _store_bytes(store, derivative.data)
        inserted = await _record(db, item.id, kind, stored, derivative)
        result[kind.value] = "made" if inserted else "kept"
    log.info("evidence derivatives", extra={"evidence_id": str(evidence_id), "result": result})
    return result
