"""Turning a stored object into an evidence record: the one entry point every ingest path
(tus uploads, dock imports, live segments) calls once the bytes are in the ContentStore.

`register_object` runs in the caller's transaction and only flushes.  The object's key
record is locked (`lock_live_key`) in that same transaction, so a concurrent sweep or
destruction either finishes first (and the insert is refused) or waits for the commit
and then sees the reference.  A refused registration writes no row; the object it was
about stays unreferenced and the storage sweep removes it after its grace period.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification
from citywitness.agencies.models import Officer
from citywitness.audit.service import Auditor
from citywitness.evidence import custody, search_index
from citywitness.evidence.derivative_models import Derivative
from citywitness.evidence.errors import (
    ClassificationAboveClearance,
    EmptyFile,
    ObjectNotStored,
    UnknownCategory,
    UnknownOfficer,
)
from citywitness.evidence.export_models import Export, ExportStatus
from citywitness.evidence.geo import bounding_box
from citywitness.evidence.media import MediaFacts, StoredObjectFile, check_claim, probe
from citywitness.evidence.models import (
    Category,
    EvidenceItem,
    EvidenceKind,
    EvidenceState,
    IngestChannel,
)
from citywitness.evidence.quotas import check_quota
from citywitness.evidence.retention import retain_until_for
from citywitness.evidence.schemas import IngestMetadata, unique_tags
from citywitness.kit.clock import utcnow
from citywitness.storage import ContentStore, StoredObject, lock_live_key

EVIDENCE = "evidence"


@dataclass(frozen=True)
class RegisteredItem:
    """The item for the object; `created` is False when it already existed (a duplicate)."""

    item: EvidenceItem
    created: bool


async def category_by_code(session: AsyncSession, code: str | None) -> Category | None:
    if code is None:
        return None
    category = await session.scalar(select(Category).where(Category.code == code))
    if category is None:
        raise UnknownCategory(fields={"category_code": f"no category {code!r}"})
    return category


async def resolve_officer(
    session: AsyncSession,
    department_id: uuid.UUID,
    *,
    officer_id: uuid.UUID | None = None,
    badge: str | None = None,
) -> uuid.UUID | None:
    """The officer's id, who must belong to `department_id`; `UnknownOfficer` otherwise."""
    if officer_id is None and badge is None:
        return None
    query = select(Officer.id).where(Officer.department_id == department_id)
    if officer_id is not None:
        query = query.where(Officer.id == officer_id)
    else:
        query = query.where(Officer.badge_number == badge)
    found = await session.scalar(query)
    if found is None:
        field = "officer_id" if officer_id is not None else "officer_badge"
        raise UnknownOfficer(fields={field: "no such officer in this department"})
    return found


async def read_facts(
    store: ContentStore, stored: StoredObject, source_path: Path | None
) -> MediaFacts:
    """Probe the bytes: from a local copy when the caller has one, else from the store."""
    if source_path is not None:
        return await asyncio.to_thread(probe, source_path)
    opened = await store.open_object(stored.sha256)

    def run() -> MediaFacts:
        with StoredObjectFile(opened) as handle:
            return probe(handle)  # type: ignore[arg-type] # a RawIOBase is a binary file

    try:
        return await asyncio.to_thread(run)
    finally:
        opened.close()


async def existing_item(
    session: AsyncSession, department_id: uuid.UUID, sha256: str
) -> EvidenceItem | None:
    return await session.scalar(
        select(EvidenceItem).where(
            EvidenceItem.department_id == department_id, EvidenceItem.sha256 == sha256
        )
    )


def _classification(
    meta: IngestMetadata, category: Category | None, auditor: Auditor
) -> Classification:
    if meta.classification is not None:
        level = Classification.parse(meta.classification)
    elif category is not None:
        level = Classification(category.default_classification)
    else:
        level = Classification.INTERNAL
    actor = auditor.actor
    if actor is not None and level > actor.clearance:
        raise ClassificationAboveClearance(
            fields={"classification": f"above your clearance ({actor.clearance.label})"}
        )
    return level


def _new_item(
    *,
    stored: StoredObject,
    department_id: uuid.UUID,
    uploaded_by: uuid.UUID | None,
    channel: IngestChannel,
    meta: IngestMetadata,
    facts: MediaFacts,
    media_type: str,
    category: Category | None,
    officer_id: uuid.UUID | None,
    classification: Classification,
) -> EvidenceItem:
    now = utcnow()
    box = bounding_box(meta.gps_track)
    tags = unique_tags(list(meta.tags))
    return EvidenceItem(
        id=uuid.uuid4(),
        kind=facts.kind,
        state=EvidenceState.ACTIVE,
        sha256=stored.sha256,
        size_bytes=stored.size,
        original_filename=meta.filename,
        media_type=media_type,
        container=facts.container,
        video_codec=facts.video_codec,
        audio_codec=facts.audio_codec,
        duration_seconds=facts.duration_seconds,
        width=facts.width,
        height=facts.height,
        media_facts=facts.extra,
        captured_start=meta.captured_start,
        captured_end=meta.captured_end,
        recorder_serial=meta.recorder_serial,
        officer_id=officer_id,
        department_id=department_id,
        category_id=category.id if category is not None else None,
        tags=tags,
        notes=meta.notes,
        classification=int(classification),
        gps_track=meta.gps_track,
        min_lat=box.min_lat if box else None,
        max_lat=box.max_lat if box else None,
        min_lon=box.min_lon if box else None,
        max_lon=box.max_lon if box else None,
        search_vector=search_index.vector(tags, meta.notes),
        retain_until=retain_until_for(category, meta.captured_start or now, now),
        ingest_channel=channel,
        uploaded_by=uploaded_by,
        created_at=now,
    )


async def register_object(
    session: AsyncSession,
    auditor: Auditor,
    *,
    store: ContentStore,
    stored: StoredObject,
    department_id: uuid.UUID,
    uploaded_by: uuid.UUID | None,
    channel: IngestChannel,
    meta: IngestMetadata,
    source_path: Path | None = None,
    upload_id: uuid.UUID | None = None,
) -> RegisteredItem:
    """Record `stored` as evidence of `department_id` (see the module doc).

    Refuses: zero bytes (422 `empty_file`), content that is not the media type or kind it
    claims (415 `media_type_mismatch`), unknown category or officer (422), a
    classification above the uploader's clearance (403), an object no longer stored (409
    `object_not_stored`), a department over quota (507).  The same content already in the
    department returns the existing item with `created=False` and adds nothing.
    `upload_id`: the still-open tus upload the bytes came from (its reservation is not
    counted twice against the quota).  Defers the thumbnail/proxy job with the insert.
    """
    if stored.size == 0:
        raise EmptyFile(fields={"size": "zero-byte files are not evidence"})
    if not await lock_live_key(session, stored.sha256):
        raise ObjectNotStored(fields={"sha256": stored.sha256})
    found = await existing_item(session, department_id, stored.sha256)
    if found is not None:
        return await _duplicate(auditor, found, channel)
    category = await category_by_code(session, meta.category_code)
    officer_id = await resolve_officer(
        session, department_id, officer_id=meta.officer_id, badge=meta.officer_badge
    )
    classification = _classification(meta, category, auditor)
    facts = await read_facts(store, stored, source_path)
    media_type = check_claim(
        facts, claimed_type=meta.media_type, filename=meta.filename, claimed_kind=meta.kind
    )
    await check_quota(session, department_id, stored.size, exclude_upload=upload_id)
    item = _new_item(
        stored=stored,
        department_id=department_id,
        uploaded_by=uploaded_by,
        channel=channel,
        meta=meta,
        facts=facts,
        media_type=media_type,
        category=category,
        officer_id=officer_id,
        classification=classification,
    )
    try:
        async with session.begin_nested():
            session.add(item)
    except IntegrityError:  # the same content registered concurrently in this department
        found = await existing_item(session, department_id, stored.sha256)
        if found is None:
            raise
        return await _duplicate(auditor, found, channel)
    await _after_insert(session, auditor, item)
    return RegisteredItem(item=item, created=True)


async def _duplicate(
    auditor: Auditor, item: EvidenceItem, channel: IngestChannel
) -> RegisteredItem:
    await auditor.record(
        "evidence.ingest_duplicate",
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=item.department_id,
        details={"sha256": item.sha256, "channel": channel.value},
    )
    return RegisteredItem(item=item, created=False)


async def _after_insert(session: AsyncSession, auditor: Auditor, item: EvidenceItem) -> None:
    from citywitness.evidence import tasks  # noqa: PLC0415 - tasks import this module

    await custody.record(
        auditor,
        "evidence.ingest",
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=item.department_id,
        details={
            "sha256": item.sha256,
            "size_bytes": item.size_bytes,
            "kind": item.kind,
            "channel": item.ingest_channel,
            "classification": Classification(item.classification).label,
        },
    )
    if item.kind in (EvidenceKind.VIDEO, EvidenceKind.AUDIO, EvidenceKind.PHOTO):
        await tasks.defer_derivatives(session, item.id)


async def referenced_shas(session: AsyncSession, sha256s: Sequence[str]) -> set[str]:
    """Which of `sha256s` a live evidence item, a derivative or a finished export package uses.

    The `is_referenced` predicate for `storage.scrub.check` / `sweep` (bind the session).
    """
    if not sha256s:
        return set()
    wanted = list(sha256s)
    items = select(EvidenceItem.sha256).where(
        EvidenceItem.sha256.in_(wanted), EvidenceItem.state != EvidenceState.DESTROYED
    )
    derivatives = (
        select(Derivative.sha256)
        .join(EvidenceItem, EvidenceItem.id == Derivative.evidence_id)
        .where(Derivative.sha256.in_(wanted), EvidenceItem.state != EvidenceState.DESTROYED)
    )
    # A finished export package lives in the same store until it is discarded or expires.
    packages = select(Export.package_sha256).where(
        Export.package_sha256.in_(wanted), Export.status == ExportStatus.DONE
    )
    found: Sequence[str | None] = (await session.scalars(union(items, derivatives, packages))).all()
    return {sha for sha in found if sha is not None}
