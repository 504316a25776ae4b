"""tus 1.0 conformance of /api/v1/uploads: each header and status, exactly."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.audit.models import AuditEvent
from citywitness.evidence.models import (
    DepartmentQuota,
    EvidenceItem,
    IngestChannel,
    Upload,
    UploadState,
)
from citywitness.evidence.tus_protocol import TUS_EXTENSIONS, TUS_VERSION
from citywitness.kit.db import Database
from citywitness.storage import ContentStore
from tests.evidence.ingest.conftest import OCTETS, Tus, checksum, pdf_bytes
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor


async def _upload(db: Database, url: str) -> Upload:
    async with db.transaction() as session:
        found = await session.get(Upload, uuid.UUID(url.rsplit("/", 1)[1]))
        assert found is not None
        return found


async def _item(db: Database, evidence_id: str) -> EvidenceItem:
    async with db.transaction() as session:
        found = await session.get(EvidenceItem, uuid.UUID(evidence_id))
        assert found is not None
        return found


def _staging(store: ContentStore, url: str) -> Path:
    return store.staging_dir / uuid.UUID(url.rsplit("/", 1)[1]).hex


def _files(root: Path, name_part: str = "") -> list[bytes]:
    return [p.read_bytes() for p in root.rglob("*") if p.is_file() and name_part in p.name]


async def test_options_advertises_the_protocol(client: httpx.AsyncClient) -> None:
    response = await client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == TUS_VERSION
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Extension"] == TUS_EXTENSIONS
    assert TUS_EXTENSIONS == "creation,creation-with-upload,termination,expiration,checksum"
    assert response.headers["Tus-Checksum-Algorithm"] == "sha256"
    assert response.headers["Tus-Max-Size"] == str(256 * 1024**3)


async def test_tus_resumable_is_required(tus: Tus) -> None:
    for headers in ({}, {"Tus-Resumable": "0.2.2"}):
        response = await tus.client.post(
            "/api/v1/uploads", headers={**tus.actor.headers, **headers, "Upload-Length": "10"}
        )
        assert response.status_code == 412
        assert response.headers["Tus-Version"] == "1.0.0"
        assert response.json()["error"] == "tus_version_unsupported"


async def test_create_head_patch_complete(tus: Tus, db: Database) -> None:
    data = pdf_bytes(300_000)
    response = await tus.create(len(data), sha256=hashlib.sha256(data).hexdigest())
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "0"
    assert response.headers["Tus-Resumable"] == TUS_VERSION
    assert "GMT" in response.headers["Upload-Expires"]
    url = response.headers["Location"].removeprefix("http://testserver")
    assert url.startswith("/api/v1/uploads/")

    head = await tus.head(url)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    assert "GMT" in head.headers["Upload-Expires"]

    first = await tus.patch(url, 0, data[:100_000], **{"Upload-Checksum": checksum(data[:100_000])})
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == "100000"
    assert "CW-Evidence-Id" not in first.headers
    assert (await _upload(db, url)).upload_offset == 100_000
    assert (await tus.head(url)).headers["Upload-Offset"] == "100000"

    last = await tus.patch(url, 100_000, data[100_000:])
    assert last.status_code == 204
    assert last.headers["Upload-Offset"] == str(len(data))
    evidence_id = last.headers["CW-Evidence-Id"]
    assert last.headers["CW-Evidence-Duplicate"] == "false"

    item = await _item(db, evidence_id)
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert item.size_bytes == len(data)
    assert item.ingest_channel == IngestChannel.TUS
    assert item.uploaded_by == tus.actor.user.id
    assert item.original_filename == "clip.pdf"
    upload = await _upload(db, url)
    assert (upload.state, upload.upload_offset, upload.evidence_id) == (
        UploadState.COMPLETED,
        len(data),
        item.id,
    )
    done = await tus.head(url)
    assert done.status_code == 200
    assert done.headers["Upload-Offset"] == str(len(data))
    assert done.headers["CW-Evidence-Id"] == evidence_id
    again = await tus.patch(url, len(data), b"")
    assert again.status_code == 409
    assert again.headers["Upload-Offset"] == str(len(data))


async def test_wrong_checksum_is_460_and_keeps_nothing(tus: Tus, db: Database) -> None:
    data = pdf_bytes(50_000)
    url = await tus.new(len(data))
    assert (await tus.patch(url, 0, data[:20_000])).status_code == 204
    bad = await tus.patch(url, 20_000, data[20_000:40_000], **{"Upload-Checksum": checksum(b"x")})
    assert bad.status_code == 460
    assert bad.json()["error"] == "checksum_mismatch"
    assert bad.headers["Upload-Offset"] == "20000"
    assert (await tus.head(url)).headers["Upload-Offset"] == "20000"
    assert (await _upload(db, url)).upload_offset == 20_000
    # the same bytes again, with the right checksum, then the rest: the whole file is intact
    good = await tus.patch(
        url, 20_000, data[20_000:40_000], **{"Upload-Checksum": checksum(data[20_000:40_000])}
    )
    assert good.headers["Upload-Offset"] == "40000"
    last = await tus.patch(url, 40_000, data[40_000:])
    item = await _item(db, last.headers["CW-Evidence-Id"])
    assert item.sha256 == hashlib.sha256(data).hexdigest()


async def test_checksum_header_errors(tus: Tus) -> None:
    url = await tus.new(100)
    other = await tus.patch(url, 0, b"%PDF", **{"Upload-Checksum": "md5 AAAA"})
    assert (other.status_code, other.json()["error"]) == (400, "checksum_algorithm_unsupported")
    assert other.headers["Tus-Checksum-Algorithm"] == "sha256"
    garbled = await tus.patch(url, 0, b"%PDF", **{"Upload-Checksum": "sha256 !!"})
    assert (garbled.status_code, garbled.json()["error"]) == (400, "invalid_tus_header")
    assert (await tus.head(url)).headers["Upload-Offset"] == "0"


async def test_offset_mismatch_is_409(tus: Tus) -> None:
    url = await tus.new(100)
    assert (await tus.patch(url, 0, b"%PDF-1.4\n")).status_code == 204
    for offset in (0, 5, 50):
        response = await tus.patch(url, offset, b"more")
        assert response.status_code == 409
        assert response.json()["error"] == "upload_offset_mismatch"
        assert response.headers["Upload-Offset"] == "9"
    assert (await tus.head(url)).headers["Upload-Offset"] == "9"


async def test_patch_header_errors(tus: Tus) -> None:
    url = await tus.new(100)
    wrong_type = await tus.client.patch(
        url,
        headers=tus.headers(**{"Upload-Offset": "0", "Content-Type": "text/plain"}),
        content=b"x",
    )
    assert (wrong_type.status_code, wrong_type.json()["error"]) == (415, "tus_content_type")
    no_offset = await tus.client.patch(
        url, headers=tus.headers(**{"Content-Type": OCTETS}), content=b"x"
    )
    assert (no_offset.status_code, no_offset.json()["error"]) == (400, "invalid_tus_header")
    past_end = await tus.patch(url, 0, b"x" * 101)
    assert (past_end.status_code, past_end.json()["error"]) == (413, "upload_too_large")
    assert (await tus.head(url)).headers["Upload-Offset"] == "0"


async def test_creation_refusals(tus: Tus, db: Database) -> None:
    cases = [
        ({}, 0, 422, "empty_file"),
        ({}, 256 * 1024**3 + 1, 413, "upload_too_large"),
        ({"filename": "../../etc/passwd"}, 10, 422, "invalid_metadata"),
        ({"filename": "a\x07b.pdf"}, 10, 422, "invalid_metadata"),
        ({"colour": "red"}, 10, 422, "invalid_metadata"),
        ({"sha256": "abc"}, 10, 422, "invalid_metadata"),
        ({"notes": "n" * 10_001}, 10, 422, "invalid_metadata"),
        ({"notes": "n" * 40_000}, 10, 413, "upload_metadata_too_large"),
        ({"department": "no-such-department"}, 10, 422, "unknown_department"),
        ({"department": str(TRAFFIC_POLICE)}, 10, 403, "permission_denied"),
    ]
    for meta, length, status, code in cases:
        response = await tus.create(length, **meta)
        assert (response.status_code, response.json()["error"]) == (status, code), meta
    bad_base64 = await tus.client.post(
        "/api/v1/uploads",
        headers=tus.headers(**{"Upload-Length": "10", "Upload-Metadata": "filename %%%"}),
    )
    assert (bad_base64.status_code, bad_base64.json()["error"]) == (400, "invalid_tus_header")
    no_length = await tus.client.post("/api/v1/uploads", headers=tus.headers())
    assert (no_length.status_code, no_length.json()["error"]) == (400, "invalid_tus_header")
    async with db.transaction() as session:
        assert (await session.scalars(select(Upload))).all() == []


async def test_quota_is_checked_at_creation(tus: Tus, db: Database) -> None:
    async with db.transaction() as session:
        session.add(DepartmentQuota(department_id=PUBLIC_SECURITY, quota_bytes=1000))
    assert (await tus.create(600)).status_code == 201
    refused = await tus.create(600)  # the open upload's 600 bytes are reserved
    assert (refused.status_code, refused.json()["error"]) == (507, "insufficient_storage")


async def test_creation_with_upload(tus: Tus, db: Database) -> None:
    data = pdf_bytes(5000)
    headers = tus.headers(**{"Upload-Length": str(len(data)), "Content-Type": OCTETS})
    headers["Upload-Metadata"] = "filename Y2xpcC5wZGY="  # clip.pdf
    response = await tus.client.post("/api/v1/uploads", headers=headers, content=data[:3000])
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "3000"
    url = response.headers["Location"].removeprefix("http://testserver")
    last = await tus.patch(url, 3000, data[3000:])
    item = await _item(db, last.headers["CW-Evidence-Id"])
    assert item.sha256 == hashlib.sha256(data).hexdigest()


async def test_termination(tus: Tus, db: Database, store: ContentStore) -> None:
    url = await tus.new(100)
    assert (await tus.patch(url, 0, b"%PDF-1.4\n")).status_code == 204
    assert _staging(store, url).exists()
    response = await tus.client.delete(url, headers=tus.headers())
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == TUS_VERSION
    assert not _staging(store, url).exists()
    assert (await _upload(db, url)).state == UploadState.TERMINATED
    assert (await tus.head(url)).status_code == 410
    patch = await tus.patch(url, 9, b"x")
    assert (patch.status_code, patch.json()["error"]) == (410, "upload_terminated")
    again = await tus.client.delete(url, headers=tus.headers())
    assert (again.status_code, again.json()["error"]) == (410, "upload_terminated")


async def test_another_users_upload_is_not_found(tus: Tus, db: Database) -> None:
    url = await tus.new(100)
    colleague = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    other = Tus(tus.client, colleague)
    assert (await other.head(url)).status_code == 404
    patch = await other.patch(url, 0, b"%PDF")
    assert (patch.status_code, patch.json()["error"]) == (404, "not_found")
    delete = await other.client.delete(url, headers=other.headers())
    assert delete.status_code == 404
    assert (await tus.head(url)).headers["Upload-Offset"] == "0"


async def test_bytes_at_rest_are_not_plaintext(tus: Tus, db: Database, store: ContentStore) -> None:
    marker = b"PLAINTEXT-MARKER-" * 64
    data = pdf_bytes(40_000, seed=marker)
    url = await tus.new(len(data))
    await tus.patch(url, 0, data[:20_000])
    staged = b"".join(_files(_staging(store, url)))
    assert marker[:32] not in staged
    last = await tus.patch(url, 20_000, data[20_000:])
    item = await _item(db, last.headers["CW-Evidence-Id"])
    blobs = _files(Path(store.backend.root), item.sha256)  # type: ignore[attr-defined]
    assert len(blobs) == 1
    assert marker[:32] not in blobs[0]
    assert await store.read_all(item.sha256) == data


async def test_declared_sha256_mismatch_refuses_the_upload(tus: Tus, db: Database) -> None:
    data = pdf_bytes(1000)
    url = await tus.new(len(data), sha256="0" * 64)
    response = await tus.patch(url, 0, data)
    assert (response.status_code, response.json()["error"]) == (422, "storage_hash_mismatch")
    upload = await _upload(db, url)
    assert (upload.state, upload.evidence_id) == (UploadState.TERMINATED, None)
    async with db.transaction() as session:
        assert (await session.scalars(select(EvidenceItem))).all() == []
        refused = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "evidence.upload_refused")
        )
        assert refused is not None


async def test_not_the_claimed_type_is_refused(tus: Tus, db: Database) -> None:
    url = await tus.new(20)
    response = await tus.patch(url, 0, b"this is not a pdf!!!")
    assert (response.status_code, response.json()["error"]) == (415, "media_type_mismatch")
    assert (await _upload(db, url)).state == UploadState.TERMINATED
    async with db.transaction() as session:
        assert (await session.scalars(select(EvidenceItem))).all() == []


async def test_duplicate_content_links_the_existing_item(tus: Tus, db: Database) -> None:
    data = pdf_bytes(2000)
    first = await tus.patch(await tus.new(len(data)), 0, data)
    second = await tus.patch(await tus.new(len(data)), 0, data)
    assert second.headers["CW-Evidence-Id"] == first.headers["CW-Evidence-Id"]
    assert second.headers["CW-Evidence-Duplicate"] == "true"
