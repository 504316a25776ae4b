"""Interrupted tus uploads resume where the server's durable bytes end; stale ones expire."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from citywitness.app import create_app
from citywitness.audit.models import AuditEvent
from citywitness.audit.service import Auditor
from citywitness.evidence.models import EvidenceItem, Upload, UploadState
from citywitness.evidence.tus import expire_stale_uploads
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.evidence.ingest.conftest import OCTETS, TUS, Tus, checksum, pdf_bytes


async def interrupted_patch(
    app: FastAPI, url: str, headers: dict[str, str], sent: bytes
) -> list[dict[str, Any]]:
    """Send `sent` of a longer body, then the client goes away (http.disconnect)."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": sent[: len(sent) // 2], "more_body": True},
        {"type": "http.request", "body": sent[len(sent) // 2 :], "more_body": True},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    replies: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        replies.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.7", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return replies


def _patch_headers(tus: Tus, offset: int, **extra: str) -> dict[str, str]:
    return tus.headers(**{"Upload-Offset": str(offset), "Content-Type": OCTETS}, **extra)


async def test_interrupted_patch_keeps_what_arrived(tus: Tus, app: FastAPI, db: Database) -> None:
    data = pdf_bytes(200_000)
    url = await tus.new(len(data))
    await interrupted_patch(app, url, _patch_headers(tus, 0), data[:70_000])
    head = await tus.head(url)
    assert head.headers["Upload-Offset"] == "70000"
    last = await tus.patch(url, 70_000, data[70_000:])
    assert last.status_code == 204
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, uuid.UUID(last.headers["CW-Evidence-Id"]))
        assert item is not None
        assert item.sha256 == hashlib.sha256(data).hexdigest()


async def test_interrupted_patch_with_checksum_keeps_nothing(tus: Tus, app: FastAPI) -> None:
    data = pdf_bytes(100_000)
    url = await tus.new(len(data))
    assert (await tus.patch(url, 0, data[:10_000])).status_code == 204
    headers = _patch_headers(tus, 10_000, **{"Upload-Checksum": checksum(data[10_000:])})
    await interrupted_patch(app, url, headers, data[10_000:60_000])
    assert (await tus.head(url)).headers["Upload-Offset"] == "10000"
    assert (await tus.patch(url, 10_000, data[10_000:])).status_code == 204


async def test_resume_after_a_restart(
    tus: Tus, settings: Settings, db: Database, store: ContentStore
) -> None:
    """A new process (new app, same store) resumes from the checkpoint on disk."""
    data = pdf_bytes(150_000)
    url = await tus.new(len(data))
    assert (await tus.patch(url, 0, data[:64_000])).status_code == 204
    restarted = create_app(settings, db)
    restarted.state.content_store = store
    transport = httpx.ASGITransport(app=restarted)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        again = Tus(client, tus.actor)
        assert (await again.head(url)).headers["Upload-Offset"] == "64000"
        assert (await again.patch(url, 0, data)).status_code == 409
        last = await again.patch(url, 64_000, data[64_000:])
        assert last.status_code == 204
        assert last.headers["Upload-Offset"] == str(len(data))
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, uuid.UUID(last.headers["CW-Evidence-Id"]))
        assert item is not None
        assert item.sha256 == hashlib.sha256(data).hexdigest()


async def test_expiry(tus: Tus, db: Database, store: ContentStore) -> None:
    url = await tus.new(1000)
    assert (await tus.patch(url, 0, b"%PDF-1.4\n")).status_code == 204
    upload_id = uuid.UUID(url.rsplit("/", 1)[1])
    staging = store.staging_dir / upload_id.hex
    assert staging.exists()
    async with db.transaction() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == upload_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    head = await tus.head(url)
    assert head.status_code == 410
    patch = await tus.patch(url, 9, b"x")
    assert (patch.status_code, patch.json()["error"]) == (410, "upload_expired")
    async with db.transaction() as session:
        auditor = Auditor(session=session, actor=None, actor_kind="system")
        assert await expire_stale_uploads(session, auditor, store) == [upload_id]
    assert not staging.exists()
    async with db.transaction() as session:
        upload = await session.get(Upload, upload_id)
        assert upload is not None
        assert upload.state == UploadState.EXPIRED
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "evidence.upload_expired",
                AuditEvent.object_id == str(upload_id),
            )
        )
        assert event is not None
        auditor = Auditor(session=session, actor=None, actor_kind="system")
        assert await expire_stale_uploads(session, auditor, store) == []


async def test_patch_extends_the_expiry(tus: Tus, db: Database) -> None:
    url = await tus.new(1000)
    created = (await tus.head(url)).headers["Upload-Expires"]
    patched = await tus.patch(url, 0, b"%PDF-1.4\n")
    assert patched.headers["Upload-Expires"] >= created
    assert TUS["Tus-Resumable"] == patched.headers["Tus-Resumable"]
