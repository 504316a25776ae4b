"""Department quotas: usage, the 507 check before any byte, and the storage endpoints."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from citywitness.access.levels import Role
from citywitness.app import create_app
from citywitness.evidence.lifecycle_errors import QuotaExceeded
from citywitness.evidence.models import DepartmentQuota, Upload, UploadState
from citywitness.evidence.quotas import check_quota, department_usage
from citywitness.evidence.tus_protocol import TUS_VERSION, encode_metadata
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage.store import ContentStore
from tests.evidence.retention.helpers import make_item, make_store
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor, make_user


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path)


@pytest.fixture
def app(settings: Settings, db: Database, store: ContentStore) -> FastAPI:
    application = create_app(settings, db)
    application.state.content_store = store
    return application


async def _quota(db: Database, department: uuid.UUID, nbytes: int) -> None:
    async with db.transaction() as session:
        session.add(DepartmentQuota(department_id=department, quota_bytes=nbytes))


async def _open_upload(db: Database, length: int) -> Upload:
    async with db.transaction() as session:
        user = await make_user(session)
        upload = Upload(
            id=uuid.uuid4(),
            storage_upload_id=uuid.uuid4().hex,
            created_by=user.id,
            department_id=PUBLIC_SECURITY,
            upload_length=length,
            state=UploadState.OPEN,
            expires_at=utcnow() + timedelta(days=1),
        )
        session.add(upload)
    return upload


async def test_usage_counts_items_and_open_uploads_against_the_quota(
    db: Database, store: ContentStore
) -> None:
    await make_item(db, store, data=b"x" * 1000)
    upload = await _open_upload(db, 500)
    async with db.transaction() as session:
        await check_quota(session, PUBLIC_SECURITY, 10**12)  # no quota: anything goes
    await _quota(db, PUBLIC_SECURITY, 2000)
    async with db.transaction() as session:
        usage = await department_usage(session, PUBLIC_SECURITY)
        assert (usage.items, usage.stored_bytes, usage.reserved_bytes, usage.used_bytes) == (
            1,
            1000,
            500,
            1500,
        )
        await check_quota(session, PUBLIC_SECURITY, 500)
        with pytest.raises(QuotaExceeded) as refused:
            await check_quota(session, PUBLIC_SECURITY, 501)
        await check_quota(session, PUBLIC_SECURITY, 1000, exclude_upload=upload.id)
        await check_quota(session, TRAFFIC_POLICE, 10**9)  # another department, no quota
    assert (refused.value.status, refused.value.code) == (507, "insufficient_storage")
    assert refused.value.fields == {
        "department_id": str(PUBLIC_SECURITY),
        "quota_bytes": 2000,
        "used_bytes": 1500,
        "requested_bytes": 501,
    }


async def test_a_tus_upload_over_quota_is_refused_before_any_byte(
    db: Database, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await _quota(db, PUBLIC_SECURITY, 1000)
    officer = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    headers = {
        **officer.headers,
        "Tus-Resumable": TUS_VERSION,
        "Upload-Length": "1001",
        "Upload-Metadata": encode_metadata({"filename": "clip.pdf"}),
    }
    refused = await client.post("/api/v1/uploads", headers=headers)
    assert (refused.status_code, refused.json()["error"]) == (507, "insufficient_storage")
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Upload)) == 0
    staging = tmp_path / "staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    fits = await client.post("/api/v1/uploads", headers={**headers, "Upload-Length": "1000"})
    assert fits.status_code == 201


async def test_storage_endpoints(
    db: Database, client: httpx.AsyncClient, store: ContentStore
) -> None:
    await make_item(db, store, data=b"y" * 300)
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.PLATFORM_ADMIN]})
    department_admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    url = f"/api/v1/departments/{PUBLIC_SECURITY}/storage"

    before = await client.get(url, headers=department_admin.headers)
    assert before.json() == {
        "department_id": str(PUBLIC_SECURITY),
        "items": 1,
        "stored_bytes": 300,
        "reserved_bytes": 0,
        "used_bytes": 300,
        "quota_bytes": None,
        "available_bytes": None,
    }
    own = await client.put(url, json={"quota_bytes": 10**9}, headers=department_admin.headers)
    assert (own.status_code, own.json()["error"]) == (403, "permission_denied")
    for bad in ({"quota_bytes": -1}, {}, {"quota_bytes": 5, "x": 1}):
        assert (await client.put(url, json=bad, headers=admin.headers)).status_code == 422
    set_ = await client.put(url, json={"quota_bytes": 1000}, headers=admin.headers)
    assert (set_.status_code, set_.json()["available_bytes"]) == (200, 700)
    removed = await client.put(url, json={"quota_bytes": None}, headers=admin.headers)
    assert removed.json()["quota_bytes"] is None
    unknown = await client.get(f"/api/v1/departments/{uuid.uuid4()}/storage", headers=admin.headers)
    assert unknown.status_code == 404
