"""The retention job: expired items are queued with a review window, then crypto-shredded
and certified; holds, the longest rule and shared content keep items; a run killed in
the middle of a destruction is completed once by the next run."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from citywitness.audit.models import AuditEvent
from citywitness.evidence.derivative_models import DerivativeKind
from citywitness.evidence.destruction import Outcome, execute_deletion
from citywitness.evidence.lifecycle_tasks import run_retention
from citywitness.evidence.models import (
    Category,
    DeletionRequest,
    DeletionState,
    DestructionCertificate,
    EvidenceItem,
    EvidenceState,
    LegalHold,
)
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.storage.backend import LocalBackend
from citywitness.storage.errors import KeyDestroyed
from citywitness.storage.models import StorageKey
from citywitness.storage.store import ContentStore
from tests.evidence.retention.helpers import (
    NON_EVIDENTIARY,
    add_derivative,
    make_item,
    make_store,
)
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_user

CRIMINAL = uuid.UUID("10000000-0000-4000-8000-000000000003")


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path)


def _blobs(root: Path) -> list[str]:
    return sorted(p.name.split(".")[0] for p in (root / "objects").rglob("*") if p.is_file())


async def _request(db: Database, item: EvidenceItem) -> DeletionRequest:
    async with db.transaction() as session:
        found = await session.scalar(
            select(DeletionRequest).where(DeletionRequest.evidence_id == item.id)
        )
    assert found is not None
    return found


async def _item(db: Database, item_id: uuid.UUID) -> EvidenceItem:
    async with db.transaction() as session:
        found = await session.get(EvidenceItem, item_id)
    assert found is not None
    return found


async def _actions(db: Database, item: EvidenceItem) -> list[str]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(item.id))
            .order_by(AuditEvent.id)
        )
        return list(rows)


async def test_expired_item_is_queued_then_destroyed_with_a_certificate(
    db: Database, store: ContentStore, tmp_path: Path
) -> None:
    item = await make_item(db, store)
    thumb = await add_derivative(db, store, item, DerivativeKind.THUMBNAIL)
    proxy = await add_derivative(db, store, item, DerivativeKind.PROXY)
    now = utcnow()

    first = await run_retention(db, store, review_days=7, now=now)
    assert (first.queued, first.outcomes, first.failed) == (1, {}, [])
    request = await _request(db, item)
    async with db.transaction() as session:
        basis = await session.scalar(
            select(Category.legal_basis).where(Category.id == NON_EVIDENTIARY)
        )
    assert (request.source, request.state, request.reason, request.policy) == (
        "retention",
        DeletionState.IN_REVIEW,
        "retention period expired",
        f"category non-evidentiary: 180 days ({basis})",
    )
    assert request.review_until == now + timedelta(days=7)
    assert (await _item(db, item.id)).state == EvidenceState.PENDING_DELETION

    inside = await run_retention(db, store, review_days=7, now=now + timedelta(days=6))
    assert (inside.queued, inside.outcomes) == (0, {})
    assert await store.read_all(item.sha256)  # still readable during the review window

    due = await run_retention(db, store, review_days=7, now=now + timedelta(days=7))
    assert (due.queued, due.outcomes, due.failed) == (0, {"destroyed": 1}, [])

    for sha in (item.sha256, thumb.sha256, proxy.sha256):
        with pytest.raises(KeyDestroyed):
            await store.read_all(sha)
    assert _blobs(tmp_path) == []
    destroyed = await _item(db, item.id)
    assert destroyed.state == EvidenceState.DESTROYED
    assert destroyed.destroyed_at is not None
    async with db.transaction() as session:
        certificate = await session.scalar(
            select(DestructionCertificate).where(DestructionCertificate.evidence_id == item.id)
        )
        key_destroyed_at = await session.scalar(
            select(StorageKey.destroyed_at).where(StorageKey.sha256 == item.sha256)
        )
    assert certificate is not None
    assert key_destroyed_at is not None
    assert certificate.key_destroyed_at == key_destroyed_at
    assert (
        certificate.deletion_request_id,
        certificate.sha256,
        certificate.size_bytes,
        certificate.department_id,
        certificate.policy,
        certificate.reason,
        certificate.requested_by,
        certificate.approved_by,
    ) == (
        request.id,
        item.sha256,
        9000,
        PUBLIC_SECURITY,
        request.policy,
        "retention period expired",
        None,
        None,
    )
    assert certificate.bytes_destroyed_at is not None
    assert certificate.key_destroyed_at <= certificate.bytes_destroyed_at
    assert (await _request(db, item)).state == DeletionState.DONE
    assert await _actions(db, item) == ["evidence.deletion.queue", "evidence.destroy"]


async def test_a_held_item_is_skipped_by_the_job(db: Database, store: ContentStore) -> None:
    item = await make_item(db, store)
    async with db.transaction() as session:
        user = await make_user(session)
        hold = LegalHold(evidence_id=item.id, reason="court order", placed_by=user.id)
        session.add(hold)
    run = await run_retention(db, store, review_days=0, now=utcnow())
    assert (run.queued, run.outcomes) == (0, {})
    assert (await _item(db, item.id)).state == EvidenceState.ACTIVE
    assert await store.exists(item.sha256)

    async with db.transaction() as session:
        found = await session.get(LegalHold, hold.id)
        assert found is not None
        found.released_at = utcnow()
        found.released_by = user.id
    released = await run_retention(db, store, review_days=0, now=utcnow())
    assert (released.queued, released.outcomes) == (1, {"destroyed": 1})


async def test_a_hold_found_when_due_cancels_the_request(db: Database, store: ContentStore) -> None:
    item = await make_item(db, store)
    now = utcnow()
    await run_retention(db, store, review_days=1, now=now)
    async with db.transaction() as session:
        user = await make_user(session)
        session.add(LegalHold(evidence_id=item.id, reason="appeal", placed_by=user.id))
    run = await run_retention(db, store, review_days=1, now=now + timedelta(days=2))
    assert (run.queued, run.outcomes) == (0, {"held": 1})
    assert (await _request(db, item)).state == DeletionState.CANCELLED
    assert (await _item(db, item.id)).state == EvidenceState.ACTIVE
    assert await store.exists(item.sha256)


class HoldingStore(ContentStore):
    """Places a hold (committed) right before the destroy takes the key lock."""

    hold_for: EvidenceItem
    db: Database

    async def destroy(self, sha256: str, *, unless=None):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            user = await make_user(session)
            session.add(LegalHold(evidence_id=self.hold_for.id, reason="late", placed_by=user.id))
        return await super().destroy(sha256, unless=unless)


async def test_the_guard_keeps_the_key_when_a_hold_slips_in(
    db: Database, store: ContentStore, tmp_path: Path
) -> None:
    item = await make_item(db, store)
    now = utcnow()
    await run_retention(db, store, review_days=1, now=now)
    racing = HoldingStore(
        backend=store.backend,
        keys=store.keys,
        wrapper=store.wrapper,
        staging_dir=tmp_path / "staging",
        chunk_size=4096,
    )
    racing.hold_for, racing.db = item, db
    request = await _request(db, item)
    later = now + timedelta(days=2)
    assert await execute_deletion(db, racing, request.id, now=later) == Outcome.KEPT
    assert await store.read_all(item.sha256)
    async with db.transaction() as session:
        certificates = await session.scalar(
            select(func.count()).select_from(DestructionCertificate)
        )
    assert certificates == 0


class FlakyBackend(LocalBackend):
    """A local backend whose first byte deletion dies (a worker killed mid-destruction)."""

    kills = 1

    def delete(self, name: str) -> None:
        if self.kills:
            self.kills -= 1
            raise RuntimeError("worker killed")
        super().delete(name)


async def test_a_run_killed_mid_destruction_completes_once_on_retry(
    db: Database, store: ContentStore, tmp_path: Path
) -> None:
    item = await make_item(db, store)
    flaky = ContentStore(
        backend=FlakyBackend(tmp_path / "objects"),
        keys=store.keys,
        wrapper=store.wrapper,
        staging_dir=tmp_path / "staging",
        chunk_size=4096,
    )
    now = utcnow()
    killed = await run_retention(db, flaky, review_days=0, now=now)
    request = await _request(db, item)
    assert (killed.queued, killed.outcomes, killed.failed) == (1, {}, [str(request.id)])
    with pytest.raises(KeyDestroyed):  # the key went first ...
        await store.read_all(item.sha256)
    assert _blobs(tmp_path) == [item.sha256]  # ... the bytes did not, nor the certificate
    assert (await _request(db, item)).state == DeletionState.IN_REVIEW

    retried = await run_retention(db, flaky, review_days=0, now=now)
    assert (retried.queued, retried.outcomes, retried.failed) == (0, {"destroyed": 1}, [])
    assert _blobs(tmp_path) == []
    assert await execute_deletion(db, flaky, request.id, now=now) == Outcome.ALREADY_DONE
    again = await run_retention(db, flaky, review_days=0, now=now)
    assert (again.queued, again.outcomes) == (0, {})
    async with db.transaction() as session:
        certificates = (
            await session.scalars(
                select(DestructionCertificate).where(DestructionCertificate.evidence_id == item.id)
            )
        ).all()
    assert len(certificates) == 1
    assert await _actions(db, item) == ["evidence.deletion.queue", "evidence.destroy"]


async def test_the_longest_rule_wins(db: Database, store: ContentStore) -> None:
    marked = await make_item(db, store, category_id=CRIMINAL)  # evidentiary since ingest
    young = await make_item(db, store, created_at=utcnow() - timedelta(days=10))
    run = await run_retention(db, store, review_days=0, now=utcnow())
    assert (run.queued, run.outcomes) == (0, {})
    assert (await _item(db, marked.id)).retain_until is None
    extended = (await _item(db, young.id)).retain_until
    assert extended is not None
    assert extended == young.created_at + timedelta(days=180)


async def test_content_shared_with_another_live_item_is_retained_for_it(
    db: Database, store: ContentStore
) -> None:
    data = b"same recording, two departments" * 100
    doomed = await make_item(db, store, data=data)
    await make_item(
        db,
        store,
        data=data,
        department_id=TRAFFIC_POLICE,
        retain_until=utcnow() + timedelta(days=30),
    )
    run = await run_retention(db, store, review_days=0, now=utcnow())
    assert (run.queued, run.outcomes) == (1, {"retained": 1})
    assert await store.read_all(doomed.sha256) == data
    assert (await _request(db, doomed)).state == DeletionState.DONE
    assert (await _item(db, doomed.id)).state == EvidenceState.DESTROYED


def test_daily_job_is_declared_on_the_maintenance_queue() -> None:
    from citywitness.evidence import lifecycle_tasks
    from citywitness.worker import jobs_app

    task = jobs_app.tasks["evidence_lifecycle:apply_retention"]
    assert task.queue == "maintenance"
    crons = [p.cron for p in jobs_app.periodic_registry.periodic_tasks.values() if p.task is task]
    assert crons == [lifecycle_tasks.RETENTION_CRON]


class DyingStore(ContentStore):
    """Dies once right after a destroy returned (key and bytes gone, nothing certified)."""

    kills = 1

    async def destroy(self, sha256: str, *, unless=None):  # type: ignore[no-untyped-def]
        record = await super().destroy(sha256, unless=unless)
        if self.kills:
            self.kills -= 1
            raise RuntimeError("worker killed")
        return record


async def test_a_run_killed_before_the_certificate_completes_once_on_retry(
    db: Database, store: ContentStore, tmp_path: Path
) -> None:
    item = await make_item(db, store)
    thumb = await add_derivative(db, store, item, DerivativeKind.THUMBNAIL)
    dying = DyingStore(
        backend=store.backend,
        keys=store.keys,
        wrapper=store.wrapper,
        staging_dir=tmp_path / "staging",
        chunk_size=4096,
    )
    now = utcnow()
    killed = await run_retention(db, dying, review_days=0, now=now)
    assert (killed.outcomes, len(killed.failed)) == ({}, 1)
    assert _blobs(tmp_path) == [thumb.sha256]  # the item's key and bytes went; not certified
    assert (await _item(db, item.id)).state == EvidenceState.PENDING_DELETION

    retried = await run_retention(db, dying, review_days=0, now=now)
    assert (retried.outcomes, retried.failed) == ({"destroyed": 1}, [])
    assert _blobs(tmp_path) == []
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(DestructionCertificate)
            .where(DestructionCertificate.evidence_id == item.id)
        )
    assert count == 1
    assert await _actions(db, item) == ["evidence.deletion.queue", "evidence.destroy"]
