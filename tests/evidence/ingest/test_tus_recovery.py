"""Completion after a crash (in-process; the real SIGKILLs are in test_tus_kill*.py):
a restart that finds every byte durable completes the upload exactly once, whether the
client retries its last PATCH or asks with HEAD; leftovers of a completed upload go."""

from __future__ import annotations

import hashlib
import uuid

import httpx
from sqlalchemy import func, select

from citywitness.app import create_app
from citywitness.evidence.models import EvidenceItem, Upload, UploadState
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.evidence.ingest.conftest import Tus, checksum, pdf_bytes


def _upload_id(url: str) -> uuid.UUID:
    return uuid.UUID(url.rsplit("/", 1)[1])


async def _crashed_before_completion(
    tus: Tus, db: Database, store: ContentStore, data: bytes, *, sealed: bool
) -> str:
    """An upload whose every byte is durable in staging (checkpointed, or sealed and
    stored) but that was never registered: what a crash during completion leaves."""
    url = await tus.new(len(data))
    assert (await tus.patch(url, 0, data[:50_000])).status_code == 204
    upload_id = _upload_id(url)
    writer = await store.resume_writer(upload_id.hex)
    await writer.write(data[50_000:])
    await writer.checkpoint()
    if sealed:
        await writer.finish(keep_staging=True)
    async with db.transaction() as session:  # the row mirrors the last acknowledged PATCH
        upload = await session.get(Upload, upload_id)
        assert upload is not None
        assert (upload.state, upload.upload_offset) == (UploadState.OPEN, 50_000)
    return url


async def _restarted(settings: Settings, db: Database, store: ContentStore) -> httpx.AsyncClient:
    app = create_app(settings, db)
    app.state.content_store = store
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def _items_with(db: Database, data: bytes) -> int:
    async with db.transaction() as session:
        sha256 = hashlib.sha256(data).hexdigest()
        count = await session.scalar(
            select(func.count()).select_from(EvidenceItem).where(EvidenceItem.sha256 == sha256)
        )
        return int(count or 0)


async def test_a_retried_last_patch_completes_the_upload_once(
    tus: Tus, settings: Settings, db: Database, store: ContentStore
) -> None:
    data = pdf_bytes(120_000)
    url = await _crashed_before_completion(tus, db, store, data, sealed=False)
    async with await _restarted(settings, db, store) as client:
        again = Tus(client, tus.actor)
        retry = await again.patch(url, 50_000, data[50_000:])
        assert retry.status_code == 409
        assert retry.json()["error"] == "upload_offset_mismatch"
        assert retry.headers["Upload-Offset"] == "120000"
        evidence_id = retry.headers["CW-Evidence-Id"]
        assert retry.headers["CW-Evidence-Duplicate"] == "false"
        second = await again.patch(url, 50_000, data[50_000:])
        assert (second.status_code, second.headers["CW-Evidence-Id"]) == (409, evidence_id)
        head = await again.head(url)
        assert (head.headers["Upload-Offset"], head.headers["CW-Evidence-Id"]) == (
            "120000",
            evidence_id,
        )
    assert await _items_with(db, data) == 1
    assert not (store.staging_dir / _upload_id(url).hex).exists()


async def test_head_completes_an_upload_stored_but_not_registered(
    tus: Tus, settings: Settings, db: Database, store: ContentStore
) -> None:
    data = pdf_bytes(90_000)
    url = await _crashed_before_completion(tus, db, store, data, sealed=True)
    sha256 = hashlib.sha256(data).hexdigest()
    assert await store.exists(sha256)  # stored, key recorded; staging kept
    async with await _restarted(settings, db, store) as client:
        again = Tus(client, tus.actor)
        head = await again.head(url)
        assert head.status_code == 200
        assert head.headers["Upload-Offset"] == "90000"
        evidence_id = head.headers["CW-Evidence-Id"]
        assert (await again.head(url)).headers["CW-Evidence-Id"] == evidence_id
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, uuid.UUID(evidence_id))
        assert item is not None
        assert (item.sha256, item.size_bytes) == (sha256, 90_000)
    assert await _items_with(db, data) == 1
    assert len(list(store.backend.list_page(None, 100))) == 1  # one copy of the bytes
    assert not (store.staging_dir / _upload_id(url).hex).exists()


async def test_staging_left_by_a_crash_after_registration_goes(
    tus: Tus, db: Database, store: ContentStore
) -> None:
    data = pdf_bytes(40_000)
    url = await tus.new(len(data))
    done = await tus.patch(url, 0, data, **{"Upload-Checksum": checksum(data)})
    evidence_id = done.headers["CW-Evidence-Id"]
    leftover = store.staging_dir / _upload_id(url).hex
    writer = await store.open_writer(upload_id=leftover.name)  # as if never discarded
    await writer.write(data)
    await writer.checkpoint()
    assert leftover.exists()
    head = await tus.head(url)
    assert (head.status_code, head.headers["CW-Evidence-Id"]) == (200, evidence_id)
    assert not leftover.exists()
    writer = await store.open_writer(upload_id=leftover.name)
    await writer.checkpoint()
    patch = await tus.patch(url, 0, data)
    assert (patch.status_code, patch.headers["Upload-Offset"]) == (409, "40000")
    assert patch.headers["CW-Evidence-Id"] == evidence_id
    assert not leftover.exists()
