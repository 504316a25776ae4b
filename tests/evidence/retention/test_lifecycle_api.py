"""Holds, manual deletion with a second approver, the queue and certificates, over HTTP."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from psycopg.errors import InsufficientPrivilege
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from citywitness.access.levels import Role
from citywitness.audit.models import AuditEvent
from citywitness.evidence.lifecycle_tasks import run_retention
from citywitness.evidence.models import EvidenceItem, EvidenceState
from citywitness.kit.db import Database
from citywitness.storage.errors import KeyDestroyed
from citywitness.storage.store import ContentStore
from tests.evidence.retention.helpers import make_item, make_store
from tests.factories import PUBLIC_SECURITY, Actor, make_actor

API = "/api/v1/evidence"


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path)


@pytest.fixture
async def item(db: Database, store: ContentStore) -> EvidenceItem:
    future = datetime.now().astimezone() + timedelta(days=100)
    return await make_item(db, store, retain_until=future)


async def _actor(db: Database, *roles: Role) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: list(roles)})


async def _state(db: Database, item: EvidenceItem) -> EvidenceState:
    async with db.transaction() as session:
        found = await session.get(EvidenceItem, item.id)
    assert found is not None
    return found.state


async def _audited(db: Database, item: EvidenceItem) -> list[tuple[str, str]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.outcome)
            .where(AuditEvent.object_id == str(item.id))
            .order_by(AuditEvent.id)
        )
        return [(a, o) for a, o in rows.all()]


async def test_manual_deletion_needs_a_reason_and_a_second_approver(
    db: Database, client: httpx.AsyncClient, item: EvidenceItem
) -> None:
    both = await _actor(db, Role.INVESTIGATOR, Role.DEPARTMENT_ADMIN)
    approver = await _actor(db, Role.DEPARTMENT_ADMIN)

    for body in ({}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": "ok", "extra": 1}):
        bad = await client.post(f"{API}/{item.id}/deletion", json=body, headers=both.headers)
        assert bad.status_code == 422, body

    created = await client.post(
        f"{API}/{item.id}/deletion", json={"reason": " duplicate upload "}, headers=both.headers
    )
    assert created.status_code == 201
    request = created.json()
    assert {k: request[k] for k in ("evidence_id", "source", "state", "reason", "policy")} == {
        "evidence_id": str(item.id),
        "source": "manual",
        "state": "pending_approval",
        "reason": "duplicate upload",
        "policy": "manual deletion: reason and second approver",
    }
    assert request["requested_by"] == str(both.user.id)
    assert (request["approved_by"], request["review_until"]) == (None, None)
    again = await client.post(
        f"{API}/{item.id}/deletion", json={"reason": "twice"}, headers=both.headers
    )
    assert (again.status_code, again.json()["error"]) == (409, "deletion_already_requested")

    own = await client.post(f"{API}/deletions/{request['id']}/approve", headers=both.headers)
    assert (own.status_code, own.json()["error"]) == (403, "second_approver_required")
    assert await _state(db, item) == EvidenceState.ACTIVE

    approved = await client.post(
        f"{API}/deletions/{request['id']}/approve", headers=approver.headers
    )
    assert approved.status_code == 200
    body = approved.json()
    assert (body["state"], body["approved_by"]) == ("in_review", str(approver.user.id))
    review = datetime.fromisoformat(body["review_until"]) - datetime.fromisoformat(
        body["approved_at"]
    )
    assert review == timedelta(days=7)
    assert await _state(db, item) == EvidenceState.PENDING_DELETION
    twice = await client.post(f"{API}/deletions/{request['id']}/approve", headers=approver.headers)
    assert (twice.status_code, twice.json()["error"]) == (409, "deletion_not_pending")

    queue = await client.get(
        f"{API}/deletions", params={"state": "in_review"}, headers=both.headers
    )
    assert [r["id"] for r in queue.json()["items"]] == [request["id"]]

    cancelled = await client.post(
        f"{API}/deletions/{request['id']}/cancel",
        json={"reason": "wrong item"},
        headers=approver.headers,
    )
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")
    assert await _state(db, item) == EvidenceState.ACTIVE
    late = await client.post(
        f"{API}/deletions/{request['id']}/cancel",
        json={"reason": "again"},
        headers=approver.headers,
    )
    assert (late.status_code, late.json()["error"]) == (409, "deletion_not_pending")
    assert await _audited(db, item) == [
        ("evidence.deletion.request", "success"),
        ("evidence.deletion.approve", "success"),
        ("evidence.deletion.cancel", "success"),
    ]
    async with db.transaction() as session:
        denied = await session.execute(
            select(
                AuditEvent.action, AuditEvent.actor_user_id, AuditEvent.details["code"].astext
            ).where(AuditEvent.object_id == request["id"], AuditEvent.outcome == "denied")
        )
        assert denied.all() == [
            ("evidence.deletion.approve", both.user.id, "second_approver_required")
        ]


async def test_a_hold_blocks_deletion_by_api_until_released(
    db: Database, client: httpx.AsyncClient, item: EvidenceItem
) -> None:
    investigator = await _actor(db, Role.INVESTIGATOR)
    approver = await _actor(db, Role.DEPARTMENT_ADMIN)
    pending = await client.post(
        f"{API}/{item.id}/deletion", json={"reason": "not needed"}, headers=investigator.headers
    )
    placed = await client.post(
        f"{API}/{item.id}/holds", json={"reason": "court order 17"}, headers=investigator.headers
    )
    assert placed.status_code == 201
    hold = placed.json()
    assert {
        k: hold[k] for k in ("evidence_id", "reason", "placed_by", "active", "released_at")
    } == {
        "evidence_id": str(item.id),
        "reason": "court order 17",
        "placed_by": str(investigator.user.id),
        "active": True,
        "released_at": None,
    }
    cancelled = await client.get(f"{API}/deletions", headers=approver.headers)
    assert [(r["id"], r["state"]) for r in cancelled.json()["items"]] == [
        (pending.json()["id"], "cancelled")
    ]
    refused = await client.post(
        f"{API}/{item.id}/deletion", json={"reason": "now"}, headers=investigator.headers
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "legal_hold")

    released = await client.post(
        f"{API}/holds/{hold['id']}/release",
        json={"reason": "case closed"},
        headers=investigator.headers,
    )
    assert released.status_code == 200
    assert (released.json()["active"], released.json()["release_reason"]) == (False, "case closed")
    twice = await client.post(
        f"{API}/holds/{hold['id']}/release", json={"reason": "again"}, headers=investigator.headers
    )
    assert (twice.status_code, twice.json()["error"]) == (409, "hold_not_active")
    listed = await client.get(f"{API}/{item.id}/holds", headers=investigator.headers)
    assert [(h["id"], h["active"]) for h in listed.json()["items"]] == [(hold["id"], False)]
    allowed = await client.post(
        f"{API}/{item.id}/deletion", json={"reason": "now"}, headers=investigator.headers
    )
    assert allowed.status_code == 201
    assert [a for a, _ in await _audited(db, item)] == [
        "evidence.deletion.request",
        "evidence.hold.place",
        "evidence.deletion.cancel",
        "evidence.hold.release",
        "evidence.hold.list",
        "evidence.deletion.request",
    ]


async def test_approved_deletion_is_destroyed_after_the_window_with_a_certificate(
    db: Database, client: httpx.AsyncClient, item: EvidenceItem, store: ContentStore
) -> None:
    investigator = await _actor(db, Role.INVESTIGATOR)
    approver = await _actor(db, Role.DEPARTMENT_ADMIN)
    missing = await client.get(f"{API}/{item.id}/certificate", headers=investigator.headers)
    assert (missing.status_code, missing.json()["error"]) == (404, "certificate_not_found")
    request = (
        await client.post(
            f"{API}/{item.id}/deletion", json={"reason": "privacy"}, headers=investigator.headers
        )
    ).json()
    approved = (
        await client.post(f"{API}/deletions/{request['id']}/approve", headers=approver.headers)
    ).json()
    review_until = datetime.fromisoformat(approved["review_until"])
    early = await run_retention(db, store, review_days=7, now=review_until - timedelta(seconds=1))
    assert early.outcomes == {}
    done = await run_retention(db, store, review_days=7, now=review_until)
    assert done.outcomes == {"destroyed": 1}
    with pytest.raises(KeyDestroyed):
        await store.read_all(item.sha256)

    got = await client.get(f"{API}/{item.id}/certificate", headers=investigator.headers)
    assert got.status_code == 200
    certificate = got.json()
    assert {
        k: certificate[k]
        for k in ("evidence_id", "deletion_request_id", "sha256", "size_bytes", "policy")
    } == {
        "evidence_id": str(item.id),
        "deletion_request_id": request["id"],
        "sha256": item.sha256,
        "size_bytes": item.size_bytes,
        "policy": "manual deletion: reason and second approver",
    }
    assert (certificate["reason"], certificate["requested_by"], certificate["approved_by"]) == (
        "privacy",
        str(investigator.user.id),
        str(approver.user.id),
    )
    hold = await client.post(
        f"{API}/{item.id}/holds", json={"reason": "too late"}, headers=investigator.headers
    )
    assert (hold.status_code, hold.json()["error"]) == (410, "evidence_destroyed")
    cancel = await client.post(
        f"{API}/deletions/{request['id']}/cancel", json={"reason": "late"}, headers=approver.headers
    )
    assert (cancel.status_code, cancel.json()["error"]) == (409, "deletion_not_pending")


async def test_certificates_are_append_only(
    db: Database, store: ContentStore, item: EvidenceItem
) -> None:
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE evidence_items SET retain_until = now() - interval '1 day' WHERE id = :id"
            ),
            {"id": item.id},
        )
    assert (await run_retention(db, store, review_days=0)).outcomes == {"destroyed": 1}
    for statement in (
        "UPDATE evidence_destruction_certificates SET reason = 'changed'",
        "DELETE FROM evidence_destruction_certificates",
    ):
        with pytest.raises(DBAPIError) as caught:
            async with db.transaction() as session:
                await session.execute(text(statement))
        assert isinstance(caught.value.orig, InsufficientPrivilege)
        assert caught.value.orig.sqlstate == "42501"


async def test_holds_are_scoped_like_the_item(db: Database, client: httpx.AsyncClient) -> None:
    investigator = await _actor(db, Role.INVESTIGATOR)
    unknown = uuid.uuid4()
    for path in (f"{API}/{unknown}/holds", f"{API}/holds/{unknown}/release"):
        found = await client.post(path, json={"reason": "x"}, headers=investigator.headers)
        assert (found.status_code, found.json()["error"]) == (404, "not_found")
