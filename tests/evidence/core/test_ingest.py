"""register_object: the record, its media facts, refusals that store no row, duplicates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from citywitness.access.levels import Classification
from citywitness.agencies.service import ensure_officer
from citywitness.audit.service import Auditor
from citywitness.evidence.errors import (
    ClassificationAboveClearance,
    EmptyFile,
    MediaTypeMismatch,
    ObjectNotStored,
    UnknownCategory,
    UnknownOfficer,
)
from citywitness.evidence.ingest import referenced_shas, register_object
from citywitness.evidence.models import EvidenceItem, IngestChannel
from citywitness.evidence.schemas import IngestMetadata
from citywitness.identity.principals import load_principal
from citywitness.kit.db import Database
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import audit_events, put_bytes, register
from tests.evidence.core.samples import PDF, make_jpeg, make_mp4, make_wav
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_user

START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


async def _count(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(EvidenceItem)) or 0)


async def _jobs(db: Database) -> list[tuple[str, dict[str, str]]]:
    async with db.transaction() as session:
        rows = await session.execute(
            text("SELECT task_name, args FROM procrastinate_jobs ORDER BY id")
        )
        return [(r[0], r[1]) for r in rows]


async def test_a_video_becomes_an_item_with_its_facts(db: Database, store: ContentStore) -> None:
    data = make_mp4(2.0)
    track = {"type": "LineString", "coordinates": [[116.39, 39.9], [116.41, 39.92]]}
    result = await register(
        db,
        store,
        data,
        filename="VID_0001.mp4",
        media_type="video/mp4",
        recorder_serial="BWC-0042",
        category_code="non-evidentiary",
        tags=["traffic", "Traffic", "night"],
        notes="Stop at the crossing",
        captured_start=START.isoformat(),
        captured_end=(START + timedelta(seconds=2)).isoformat(),
        gps_track=track,
    )
    item = result.item
    assert result.created is True
    assert (item.kind, item.media_type, item.size_bytes) == ("video", "video/mp4", len(data))
    assert (item.container, item.video_codec, item.audio_codec) == (
        "mov,mp4,m4a,3gp,3g2,mj2",
        "h264",
        "aac",
    )
    assert (item.width, item.height, item.duration_seconds) == (160, 120, 2.0)
    assert item.tags == ["traffic", "night"]
    assert (item.min_lat, item.max_lat, item.min_lon, item.max_lon) == (39.9, 39.92, 116.39, 116.41)
    assert item.classification == Classification.INTERNAL
    assert item.retain_until == START + timedelta(days=180)
    assert item.department_id == PUBLIC_SECURITY
    [event] = await audit_events(db, "evidence.ingest")
    assert event.object_id == str(item.id)
    assert event.details["sha256"] == item.sha256
    assert await _jobs(db) == [("evidence:make_derivatives", {"evidence_id": str(item.id)})]
    async with db.transaction() as session:
        assert await referenced_shas(session, [item.sha256, "0" * 64]) == {item.sha256}


@pytest.mark.parametrize(
    ("data", "filename", "kind", "media_type"),
    [
        (make_wav(), "call.wav", "audio", "audio/wav"),
        (make_jpeg(), "scene.jpg", "photo", "image/jpeg"),
        (PDF, "statement.pdf", "document", "application/pdf"),
    ],
)
async def test_audio_photo_and_documents_are_recognised(
    db: Database, store: ContentStore, *, data: bytes, filename: str, kind: str, media_type: str
) -> None:
    item = (await register(db, store, data, filename=filename)).item
    assert (item.kind, item.media_type) == (kind, media_type)
    jobs = await _jobs(db)
    assert len(jobs) == (1 if kind in {"photo", "audio"} else 0)  # thumbnail; audio proxy


async def test_same_content_in_the_same_department_is_a_duplicate(
    db: Database, store: ContentStore
) -> None:
    data = make_mp4(1.0)
    first = await register(db, store, data)
    again = await register(db, store, data, notes="ignored")
    elsewhere = await register(db, store, data, department_id=TRAFFIC_POLICE)
    assert again.created is False
    assert again.item.id == first.item.id
    assert again.item.notes == ""
    assert elsewhere.created is True
    assert await _count(db) == 2
    assert len(await audit_events(db, "evidence.ingest_duplicate")) == 1


@pytest.mark.parametrize(
    ("data", "meta", "error", "fields"),
    [
        (
            make_mp4(1.0),
            {"filename": "photo.jpg"},
            MediaTypeMismatch,
            {"media_type": "claims image/jpeg, but the content is video/mp4"},
        ),
        (
            make_jpeg(),
            {"filename": "x.bin", "media_type": "video/mp4"},
            MediaTypeMismatch,
            {"media_type": "claims video/mp4, but the content is image/jpeg"},
        ),
        (
            make_mp4(1.0),
            {"filename": "x.mp4", "kind": "audio"},
            MediaTypeMismatch,
            {"kind": "claims audio, but the content is video"},
        ),
        (b"just some text\n" * 50, {"filename": "notes.mp4"}, MediaTypeMismatch, None),
        (b"", {"filename": "empty.mp4"}, EmptyFile, {"size": "zero-byte files are not evidence"}),
        (
            make_mp4(1.0),
            {"filename": "x.mp4", "category_code": "no-such"},
            UnknownCategory,
            {"category_code": "no category 'no-such'"},
        ),
        (
            make_mp4(1.0),
            {"filename": "x.mp4", "officer_badge": "NOPE-1"},
            UnknownOfficer,
            {"officer_badge": "no such officer in this department"},
        ),
    ],
)
async def test_refusals_store_no_record(
    db: Database,
    store: ContentStore,
    *,
    data: bytes,
    meta: dict[str, str],
    error: type[Exception],
    fields: dict[str, str] | None,
) -> None:
    with pytest.raises(error) as raised:
        await register(db, store, data, **meta)
    assert raised.value.fields == fields  # type: ignore[attr-defined]
    assert await _count(db) == 0
    assert await audit_events(db, "evidence.ingest") == []
    assert await _jobs(db) == []


async def test_officer_by_badge_must_be_in_the_department(
    db: Database, store: ContentStore
) -> None:
    async with db.transaction() as session:
        mine = await ensure_officer(
            session, badge_number="PS-1", display_name="A", department_id=PUBLIC_SECURITY
        )
        await ensure_officer(
            session, badge_number="TP-1", display_name="B", department_id=TRAFFIC_POLICE
        )
    item = (await register(db, store, make_mp4(1.0), officer_badge="PS-1")).item
    assert item.officer_id == mine.id
    with pytest.raises(UnknownOfficer):
        await register(db, store, make_mp4(1.5), officer_badge="TP-1")


async def test_classification_above_the_uploaders_clearance_is_refused(
    db: Database, store: ContentStore
) -> None:
    async with db.transaction() as session:
        user = await make_user(session, clearance=Classification.INTERNAL)
        principal = await load_principal(session, user)
    with pytest.raises(ClassificationAboveClearance):
        await register(db, store, make_mp4(1.0), actor=principal, classification="secret")
    item = (
        await register(db, store, make_mp4(1.0), actor=principal, classification="internal")
    ).item
    assert item.classification == Classification.INTERNAL


async def test_a_destroyed_object_cannot_become_evidence(db: Database, store: ContentStore) -> None:
    stored = await put_bytes(store, make_mp4(1.0))
    await store.destroy(stored.sha256)
    with pytest.raises(ObjectNotStored):
        async with db.transaction() as session:
            await register_object(
                session,
                Auditor(session=session, actor=None, actor_kind="system"),
                store=store,
                stored=stored,
                department_id=PUBLIC_SECURITY,
                uploaded_by=None,
                channel=IngestChannel.DOCK,
                meta=IngestMetadata(filename="x.mp4"),
            )
    assert await _count(db) == 0


async def test_permanent_categories_have_no_retain_until(db: Database, store: ContentStore) -> None:
    item = (await register(db, store, make_mp4(1.0), category_code="criminal-evidence")).item
    assert item.retain_until is None


async def test_unknown_items_get_a_random_id(db: Database, store: ContentStore) -> None:
    item = (await register(db, store, make_mp4(1.0))).item
    assert isinstance(item.id, uuid.UUID)
