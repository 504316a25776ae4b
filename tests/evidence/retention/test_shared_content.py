"""Content shared by items of two departments (one stored object): destroying one item
destroys that item and certifies the content as retained for the other; the last item to
go crypto-shreds the content.  Crash-safe, and a certified item can no longer be held."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from citywitness.access.levels import Classification, Role
from citywitness.app import create_app
from citywitness.audit.models import AuditEvent
from citywitness.evidence.derivative_models import Derivative, DerivativeKind
from citywitness.evidence.lifecycle_tasks import run_retention
from citywitness.evidence.models import (
    DeletionRequest,
    DeletionState,
    DestructionCertificate,
    EvidenceItem,
    EvidenceState,
)
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage.errors import KeyDestroyed
from citywitness.storage.keystore import lock_live_key
from citywitness.storage.models import StorageKey
from citywitness.storage.store import ContentStore
from tests.evidence.retention.helpers import add_derivative, make_item, make_store, put
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

API = "/api/v1/evidence"
DATA = b"one recording, registered by two departments" * 200


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path)


@pytest.fixture
def app(settings: Settings, db: Database, store: ContentStore) -> FastAPI:
    application = create_app(settings, db)
    application.state.content_store = store
    return application


def _blobs(root: Path) -> set[str]:
    return {p.name.split(".")[0] for p in (root / "objects").rglob("*") if p.is_file()}


async def _shared_derivative(
    db: Database, store: ContentStore, item: EvidenceItem, data: bytes
) -> Derivative:
    stored = await put(store, data)
    async with db.transaction() as session:
        assert await lock_live_key(session, stored.sha256)
        derivative = Derivative(
            id=uuid.uuid4(),
            evidence_id=item.id,
            kind=DerivativeKind.PROXY,
            sha256=stored.sha256,
            size_bytes=stored.size,
            media_type="video/mp4",
        )
        session.add(derivative)
    return derivative


async def _item(db: Database, item: EvidenceItem) -> EvidenceItem:
    async with db.transaction() as session:
        found = await session.get(EvidenceItem, item.id)
    assert found is not None
    return found


async def _request(db: Database, item: EvidenceItem) -> DeletionRequest:
    async with db.transaction() as session:
        found = await session.scalar(
            select(DeletionRequest).where(DeletionRequest.evidence_id == item.id)
        )
    assert found is not None
    return found


async def _certificate(db: Database, item: EvidenceItem) -> DestructionCertificate:
    async with db.transaction() as session:
        found = await session.scalar(
            select(DestructionCertificate).where(DestructionCertificate.evidence_id == item.id)
        )
    assert found is not None
    return found


async def _expire(db: Database, item: EvidenceItem) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(EvidenceItem)
            .where(EvidenceItem.id == item.id)
            .values(retain_until=utcnow() - timedelta(days=1))
        )


async def _actions(db: Database, item: EvidenceItem) -> list[str]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(item.id), AuditEvent.action.like("evidence.%"))
            .order_by(AuditEvent.id)
        )
        return list(rows)


async def _investigator(db: Database, department: uuid.UUID) -> Actor:
    return await make_actor(
        db, roles={department: [Role.INVESTIGATOR]}, clearance=Classification.SECRET
    )


async def test_the_content_is_retained_for_the_other_department_until_it_goes_too(
    db: Database, store: ContentStore, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    proxy_bytes = secrets.token_bytes(3000)  # the same proxy made for both items
    doomed = await make_item(db, store, data=DATA)
    own_thumb = await add_derivative(db, store, doomed, DerivativeKind.THUMBNAIL)
    await _shared_derivative(db, store, doomed, proxy_bytes)
    future = utcnow() + timedelta(days=30)
    other = await make_item(db, store, data=DATA, department_id=TRAFFIC_POLICE, retain_until=future)
    other_proxy = await _shared_derivative(db, store, other, proxy_bytes)
    police, traffic = (
        await _investigator(db, PUBLIC_SECURITY),
        await _investigator(db, TRAFFIC_POLICE),
    )

    first = await run_retention(db, store, review_days=0, now=utcnow())
    assert (first.queued, first.outcomes, first.failed) == (1, {"retained": 1}, [])
    destroyed = await _item(db, doomed)
    assert destroyed.state == EvidenceState.DESTROYED
    assert destroyed.destroyed_at is not None
    assert (await _request(db, doomed)).state == DeletionState.DONE
    certificate = await _certificate(db, doomed)
    assert (
        certificate.sha256,
        certificate.department_id,
        certificate.key_destroyed_at,
        certificate.bytes_destroyed_at,
        certificate.content_retained_for,
    ) == (doomed.sha256, PUBLIC_SECURITY, None, None, [str(other.id)])
    assert destroyed.destroyed_at == certificate.destroyed_at
    with pytest.raises(KeyDestroyed):  # its own thumbnail went ...
        await store.read_all(own_thumb.sha256)
    assert await store.read_all(other_proxy.sha256) == proxy_bytes  # ... the shared proxy not
    assert await store.read_all(doomed.sha256) == DATA
    assert await _actions(db, doomed) == ["evidence.deletion.queue", "evidence.destroy"]

    gone = await client.get(f"{API}/{doomed.id}/content", headers=police.headers)
    assert (gone.status_code, gone.json()["error"]) == (410, "evidence_destroyed")
    plays = await client.get(
        f"{API}/{other.id}/content", params={"reason": "case review"}, headers=traffic.headers
    )
    assert (plays.status_code, plays.content) == (200, DATA)
    shown = await client.get(f"{API}/{doomed.id}/certificate", headers=police.headers)
    assert shown.status_code == 200
    assert (shown.json()["key_destroyed_at"], shown.json()["content_retained_for"]) == (
        None,
        [str(other.id)],
    )

    await _expire(db, other)
    last = await run_retention(db, store, review_days=0, now=utcnow())
    assert (last.queued, last.outcomes, last.failed) == (1, {"destroyed": 1}, [])
    for sha in (doomed.sha256, other_proxy.sha256):
        with pytest.raises(KeyDestroyed):
            await store.read_all(sha)
    assert _blobs(tmp_path) == set()
    final = await _certificate(db, other)
    async with db.transaction() as session:
        key_destroyed_at = await session.scalar(
            select(StorageKey.destroyed_at).where(StorageKey.sha256 == other.sha256)
        )
    assert key_destroyed_at is not None
    assert (final.key_destroyed_at, final.content_retained_for) == (key_destroyed_at, None)
    assert final.bytes_destroyed_at is not None
    gone_too = await client.get(
        f"{API}/{other.id}/content", params={"reason": "case review"}, headers=traffic.headers
    )
    assert (gone_too.status_code, gone_too.json()["error"]) == (410, "evidence_destroyed")


async def test_two_sharing_items_due_together_shred_the_content_once_both_are_certified(
    db: Database, store: ContentStore, tmp_path: Path
) -> None:
    first = await make_item(db, store, data=DATA)
    second = await make_item(db, store, data=DATA, department_id=TRAFFIC_POLICE)
    run = await run_retention(db, store, review_days=0, now=utcnow())
    assert (run.queued, run.outcomes, run.failed) == (2, {"retained": 1, "destroyed": 1}, [])
    certificates = [await _certificate(db, i) for i in (first, second)]
    retained = [c for c in certificates if c.key_destroyed_at is None]
    shredded = [c for c in certificates if c.key_destroyed_at is not None]
    assert len(retained) == len(shredded) == 1
    assert retained[0].content_retained_for == [str(shredded[0].evidence_id)]
    assert _blobs(tmp_path) == set()
    with pytest.raises(KeyDestroyed):
        await store.read_all(first.sha256)


class DyingStore(ContentStore):
    """Dies once right after the first destroy returned (a worker killed mid-run)."""

    kills = 1

    async def destroy(self, sha256: str, *, unless=None):  # type: ignore[no-untyped-def]
        record = await super().destroy(sha256, unless=unless)
        if self.kills:
            self.kills -= 1
            raise RuntimeError("worker killed")
        return record


async def test_a_run_killed_after_the_guard_certified_completes_once_and_refuses_holds(
    db: Database, store: ContentStore, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    doomed = await make_item(db, store, data=DATA)
    other = await make_item(
        db, store, data=DATA, department_id=TRAFFIC_POLICE, retain_until=utcnow() + timedelta(1)
    )
    dying = DyingStore(
        backend=store.backend,
        keys=store.keys,
        wrapper=store.wrapper,
        staging_dir=tmp_path / "staging",
        chunk_size=4096,
    )
    killed = await run_retention(db, dying, review_days=0, now=utcnow())
    assert (killed.outcomes, len(killed.failed)) == ({}, 1)
    assert (await _item(db, doomed)).state == EvidenceState.PENDING_DELETION
    certificate = await _certificate(db, doomed)
    assert certificate.content_retained_for == [str(other.id)]

    police = await _investigator(db, PUBLIC_SECURITY)
    hold = await client.post(
        f"{API}/{doomed.id}/holds", json={"reason": "too late"}, headers=police.headers
    )
    assert (hold.status_code, hold.json()["error"]) == (410, "evidence_destroyed")

    retried = await run_retention(db, dying, review_days=0, now=utcnow())
    assert (retried.outcomes, retried.failed) == ({"retained": 1}, [])
    assert (await _item(db, doomed)).state == EvidenceState.DESTROYED
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(DestructionCertificate)
            .where(DestructionCertificate.evidence_id == doomed.id)
        )
    assert count == 1
    assert await _actions(db, doomed) == ["evidence.deletion.queue", "evidence.destroy"]
    assert await store.read_all(other.sha256) == DATA
