"""Redaction jobs: automatic detection (queue ``analysis``) and rendering (queue ``cpu``).

Both are idempotent and safe to rerun at any point.  Each starts only from its own state
(``detecting``, ``rendering``) and ends by writing its whole effect in one transaction that
re-checks that state under a row lock, so a retry after the commit changes nothing: one
detection proposes one set of tracks, and one render makes one derivative (a rerun after a
crash before the commit renders again; the object stored by the dead run is unreferenced
and reclaimed by the storage sweep).  The original is decrypted in memory and only read;
the derivative is built in memory (no plaintext on a disk), stored encrypted through the
content store, and recorded as a derivative of the item (``evidence_derivatives``, kind
``redacted``, so it is destroyed with the item) with an ``evidence.derivative_made`` custody
event whose ledger leaf names the original, the derivative, the redaction and the plan's
SHA-256.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import Sequence
from typing import Any, cast

import av.error
from procrastinate import JobContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.analysis import redaction as core
from citywitness.analysis.contracts import Box
from citywitness.analysis.redaction_models import Redaction, RedactionState, RedactionTrack
from citywitness.analysis.redaction_render import Rendered, render
from citywitness.audit.service import Auditor
from citywitness.evidence import custody
from citywitness.evidence.derivative_models import Derivative, DerivativeKind
from citywitness.evidence.media import StoredObjectFile
from citywitness.evidence.models import EvidenceItem, EvidenceState
from citywitness.evidence.runtime import store_for
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.jobs import (
    PLATFORM_RETRY,
    DeferOptions,
    Queue,
    TaskBlueprint,
    defer,
    insert_once,
    resources,
)
from citywitness.storage import ContentStore, StoredObject, lock_live_key

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("redaction")
S = RedactionState
RUNS = 1 + int(PLATFORM_RETRY.max_attempts or 0)
UNREADABLE = (av.error.FFmpegError, ValueError)
DERIVATIVE_KIND = DerivativeKind.REDACTED.value
MP4 = "video/mp4"


async def tracks_of(
    session: AsyncSession, redaction_id: uuid.UUID, *, removed: bool = False
) -> list[RedactionTrack]:
    """The redaction's tracks by start time (``removed`` ones too if asked)."""
    statement = select(RedactionTrack).where(RedactionTrack.redaction_id == redaction_id)
    if not removed:
        statement = statement.where(RedactionTrack.removed.is_(False))
    rows = await session.scalars(statement.order_by(RedactionTrack.start_s, RedactionTrack.id))
    return list(rows)


def plan_of(redaction: Redaction, tracks: Sequence[RedactionTrack]) -> core.Plan:
    """The renderer's plan for a redaction and its (not removed) tracks."""
    made = [
        core.Track(
            id=str(track.id),
            label=cast(core.Label, track.label),
            start_s=track.start_s,
            end_s=track.end_s,
            keyframes=[
                core.Keyframe(k["t"], Box(k["x"], k["y"], k["w"], k["h"])) for k in track.keyframes
            ],
            source=cast(Any, track.source),
        )
        for track in tracks
        if not track.removed
    ]
    mute = tuple((float(a), float(b)) for a, b in redaction.mute)
    return core.Plan(tuple(made), mute, cast(core.Mode, redaction.mode))


def _last_run(context: JobContext) -> bool:
    return context.job.attempts + 1 >= RUNS


# --- detection -----------------------------------------------------------------------------


@blueprint.task(name="detect", queue=Queue.ANALYSIS, pass_context=True, retry=PLATFORM_RETRY)
async def detect_task(context: JobContext, redaction_id: str) -> str:
    """Propose tracks for one redaction (idempotent)."""
    found = resources(context)
    store = store_for(found.settings, found.db)
    try:
        return await run_detection(found.db, store, uuid.UUID(redaction_id))
    except Exception:
        if _last_run(context):
            await _fail(found.db, uuid.UUID(redaction_id), S.DETECTING, "detection_failed")
        raise


async def defer_detect(session: AsyncSession, redaction_id: uuid.UUID) -> int:
    options = DeferOptions(lock=f"redaction:{redaction_id}")
    return await defer(session, detect_task, options=options, redaction_id=str(redaction_id))


async def _fail(db: Database, redaction_id: uuid.UUID, state: RedactionState, code: str) -> None:
    async with db.transaction() as session:
        redaction = await session.get(Redaction, redaction_id, with_for_update=True)
        if redaction is not None and redaction.state == state:
            redaction.state = S.FAILED
            redaction.error_code = code
    log.warning("redaction failed", extra={"redaction_id": str(redaction_id), "error": code})


async def _source(db: Database, redaction_id: uuid.UUID, state: RedactionState) -> Redaction | None:
    """The redaction if it is in ``state`` and its item is active; failed otherwise."""
    async with db.transaction() as session:
        redaction = await session.get(Redaction, redaction_id)
        if redaction is None or redaction.state != state:
            return None
        item = await session.get(EvidenceItem, redaction.evidence_id)
        active = item is not None and item.state == EvidenceState.ACTIVE
    if not active:
        await _fail(db, redaction_id, state, "evidence_not_active")
        return None
    return redaction


def _detect(opened: Any, faces: bool, plates: bool, every: int) -> core.Detection:
    with StoredObjectFile(opened) as source:
        found_by = core.detectors(faces=faces, plates=plates)
        return core.detect(source, found_by, every=every)  # type: ignore[arg-type]


async def run_detection(db: Database, store: ContentStore, redaction_id: uuid.UUID) -> str:
    """Detect, then record the proposed tracks: "done", "skipped" or "failed"."""
    redaction = await _source(db, redaction_id, S.DETECTING)
    if redaction is None:
        return "skipped"
    opened = await store.open_object(redaction.original_sha256)
    try:
        args = (opened, redaction.faces, redaction.plates, redaction.every)
        detection = await asyncio.to_thread(_detect, *args)
    except UNREADABLE:
        await _fail(db, redaction_id, S.DETECTING, "media_unreadable")
        return "failed"
    finally:
        opened.close()
    async with db.transaction() as session:
        locked = await session.get(Redaction, redaction_id, with_for_update=True)
        if locked is None or locked.state != S.DETECTING:
            return "skipped"
        session.add_all(
            RedactionTrack(
                id=uuid.uuid4(),
                redaction_id=redaction_id,
                label=track.label,
                source="auto",
                start_s=track.start_s,
                end_s=min(track.end_s, detection.duration_s),
                keyframes=[k.as_dict() for k in track.keyframes],
                removed=False,
            )
            for track in detection.tracks
        )
        locked.state, locked.detected_at = S.REVIEW, utcnow()
        locked.frames, locked.duration_s = detection.frames, detection.duration_s
    log.info(
        "redaction detected",
        extra={"redaction_id": str(redaction_id), "tracks": len(detection.tracks)},
    )
    return "done"


# --- rendering -----------------------------------------------------------------------------


@blueprint.task(name="render", queue=Queue.CPU, pass_context=True, retry=PLATFORM_RETRY)
async def render_task(context: JobContext, redaction_id: str) -> str:
    """Make the redacted derivative of one redaction (idempotent)."""
    found = resources(context)
    store = store_for(found.settings, found.db)
    try:
        return await run_render(found.db, store, uuid.UUID(redaction_id))
    except Exception:
        if _last_run(context):
            await _fail(found.db, uuid.UUID(redaction_id), S.RENDERING, "render_failed")
        raise


async def defer_render(session: AsyncSession, redaction_id: uuid.UUID) -> int:
    options = DeferOptions(lock=f"redaction:{redaction_id}")
    return await defer(session, render_task, options=options, redaction_id=str(redaction_id))


def _render(opened: Any, plan: core.Plan) -> tuple[bytes, Rendered]:
    buffer = io.BytesIO()
    with StoredObjectFile(opened) as source:
        made = render(source, buffer, plan)  # type: ignore[arg-type]
    return buffer.getvalue(), made


async def _store_bytes(store: ContentStore, data: bytes) -> StoredObject:
    writer = await store.open_writer(expected_size=len(data))
    try:
        await writer.write(data)
    except BaseException:
        await writer.abort()
        raise
    return await writer.finish()


async def run_render(db: Database, store: ContentStore, redaction_id: uuid.UUID) -> str:
    """Render, store and record the derivative: "done", "skipped" or "failed"."""
    redaction = await _source(db, redaction_id, S.RENDERING)
    if redaction is None:
        return "skipped"
    async with db.transaction() as session:
        plan = plan_of(redaction, await tracks_of(session, redaction_id))
    if plan.digest() != redaction.plan_sha256:
        await _fail(db, redaction_id, S.RENDERING, "plan_changed")
        return "failed"
    opened = await store.open_object(redaction.original_sha256)
    try:
        data, made = await asyncio.to_thread(_render, opened, plan)
    except UNREADABLE:
        await _fail(db, redaction_id, S.RENDERING, "media_unreadable")
        return "failed"
    finally:
        opened.close()
    stored = await _store_bytes(store, data)
    return await _record(db, redaction_id, stored, made)


async def _record(
    db: Database, redaction_id: uuid.UUID, stored: StoredObject, made: Rendered
) -> str:
    async with db.transaction() as session:
        redaction = await session.get(Redaction, redaction_id, with_for_update=True)
        if redaction is None or redaction.state != S.RENDERING:
            return "skipped"
        if not await lock_live_key(session, stored.sha256):
            raise RuntimeError("the stored derivative vanished before it was recorded")
        redaction.state, redaction.rendered_at = S.RENDERED, utcnow()
        redaction.derivative_sha256, redaction.derivative_size = stored.sha256, stored.size
        redaction.frames = made.frames
        await insert_once(  # another redaction may have made the very same bytes
            session,
            Derivative,
            {
                "id": uuid.uuid4(),
                "evidence_id": redaction.evidence_id,
                "kind": DERIVATIVE_KIND,
                "sha256": stored.sha256,
                "size_bytes": stored.size,
                "media_type": MP4,
                "width": made.width - made.width % 2,  # the encoder's even size
                "height": made.height - made.height % 2,
            },
        )
        ids = {"redaction_id": str(redaction.id), "plan_sha256": redaction.plan_sha256}
        await custody.record(
            Auditor(session=session, actor=None, actor_kind="system"),
            "evidence.derivative_made",
            object_id=redaction.evidence_id,
            department_id=redaction.department_id,
            details={
                "kind": DERIVATIVE_KIND,
                "sha256": stored.sha256,
                "size_bytes": stored.size,
                **ids,
            },
            ledger_details={**ids, "original_sha256": redaction.original_sha256},
        )
    log.info("redaction rendered", extra={"redaction_id": str(redaction_id)})
    return "done"


__all__ = [
    "blueprint",
    "defer_detect",
    "defer_render",
    "detect_task",
    "plan_of",
    "render_task",
    "run_detection",
    "run_render",
    "tracks_of",
]
