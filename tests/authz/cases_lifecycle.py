"""Authorization cases for legal holds, the deletion queue, certificates and department
storage (see matrix.py).  Items are made straight in the database (a key record without
bytes suffices: nothing here reads content)."""

from __future__ import annotations

import secrets
import uuid

from citywitness.access.levels import Classification
from citywitness.access.permissions import Permission
from citywitness.evidence.models import (
    DeletionRequest,
    DeletionState,
    DestructionCertificate,
    EvidenceItem,
    EvidenceKind,
    EvidenceState,
    IngestChannel,
    LegalHold,
)
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.storage.models import StorageKey
from tests.authz.matrix import (
    HOME,
    Actor,
    Case,
    Prepared,
    department_case,
    object_case,
)
from tests.factories import make_user

P = Permission
REASON = {"reason": "authorization matrix"}
READ_IS_VISIBILITY = "evidence:read decides visibility: without it the item does not exist (404)"
PLATFORM_ONLY = (
    "storage:manage is carried by no department role: only a platform admin sets quotas "
    "(tested in tests/evidence/retention/test_quotas.py)"
)


async def _item(db: Database, state: EvidenceState = EvidenceState.ACTIVE) -> EvidenceItem:
    sha = secrets.token_hex(32)
    async with db.transaction() as session:
        session.add(
            StorageKey(
                sha256=sha,
                object_id=uuid.uuid4(),
                size=10,
                stored_size=102,
                chunk_size=4096,
                wrapped_key=None if state == EvidenceState.DESTROYED else b"k" * 61,
                kek_id="local:test",
                destroyed_at=utcnow() if state == EvidenceState.DESTROYED else None,
            )
        )
        item = EvidenceItem(
            id=uuid.uuid4(),
            kind=EvidenceKind.VIDEO,
            state=state,
            sha256=sha,
            size_bytes=10,
            original_filename="clip.mp4",
            media_type="video/mp4",
            department_id=HOME,
            classification=int(Classification.INTERNAL),
            ingest_channel=IngestChannel.DOCK,
        )
        session.add(item)
    return item


async def _request(db: Database, item: EvidenceItem, state: DeletionState) -> DeletionRequest:
    async with db.transaction() as session:
        requester = await make_user(session)
        request = DeletionRequest(
            id=uuid.uuid4(),
            evidence_id=item.id,
            source="manual",
            state=state,
            reason="no longer needed",
            policy="manual",
            requested_by=requester.id,
        )
        session.add(request)
    return request


async def item_with_reason(db: Database, _caller: Actor | None) -> Prepared:
    item = await _item(db)
    return Prepared(path={"evidence_id": str(item.id)}, json=REASON)


async def pending_request(db: Database, _caller: Actor | None) -> Prepared:
    request = await _request(db, await _item(db), DeletionState.PENDING_APPROVAL)
    return Prepared(path={"request_id": str(request.id)}, json=REASON)


async def held_item(db: Database, _caller: Actor | None) -> Prepared:
    item = await _item(db)
    async with db.transaction() as session:
        placer = await make_user(session)
        hold = LegalHold(id=uuid.uuid4(), evidence_id=item.id, reason="x", placed_by=placer.id)
        session.add(hold)
    return Prepared(path={"hold_id": str(hold.id)}, json=REASON)


async def destroyed_item(db: Database, _caller: Actor | None) -> Prepared:
    item = await _item(db, EvidenceState.DESTROYED)
    request = await _request(db, item, DeletionState.DONE)
    now = utcnow()
    async with db.transaction() as session:
        session.add(
            DestructionCertificate(
                evidence_id=item.id,
                deletion_request_id=request.id,
                sha256=item.sha256,
                size_bytes=item.size_bytes,
                department_id=HOME,
                policy="manual",
                reason="no longer needed",
                requested_by=request.requested_by,
                key_destroyed_at=now,
                bytes_destroyed_at=now,
                destroyed_at=now,
            )
        )
    return Prepared(path={"evidence_id": str(item.id)})


async def home(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(path={"department_id": str(HOME)}, json={"quota_bytes": 10**9})


CASES: list[Case] = [
    department_case(
        "GET",
        "/api/v1/evidence/deletions",
        P.EVIDENCE_READ,
        other=200,
        note="a list: other departments see only what they may read (an empty list here)",
    ),
    object_case(
        "POST",
        "/api/v1/evidence/deletions/{request_id}/approve",
        P.EVIDENCE_APPROVE_DELETION,
        pending_request,
        classified=True,
    ),
    object_case(
        "POST",
        "/api/v1/evidence/deletions/{request_id}/cancel",
        P.EVIDENCE_APPROVE_DELETION,
        pending_request,
        classified=True,
        note="the requester may also cancel their own request (tested in test_lifecycle_api)",
    ),
    object_case(
        "POST",
        "/api/v1/evidence/holds/{hold_id}/release",
        P.EVIDENCE_HOLD,
        held_item,
        classified=True,
    ),
    object_case(
        "POST",
        "/api/v1/evidence/{evidence_id}/holds",
        P.EVIDENCE_HOLD,
        item_with_reason,
        success=201,
        classified=True,
    ),
    object_case(
        "GET",
        "/api/v1/evidence/{evidence_id}/holds",
        P.EVIDENCE_READ,
        item_with_reason,
        without=404,
        classified=True,
        note=READ_IS_VISIBILITY,
    ),
    object_case(
        "POST",
        "/api/v1/evidence/{evidence_id}/deletion",
        P.EVIDENCE_DELETE,
        item_with_reason,
        success=201,
        classified=True,
    ),
    object_case(
        "GET",
        "/api/v1/evidence/{evidence_id}/certificate",
        P.EVIDENCE_READ,
        destroyed_item,
        without=404,
        classified=True,
        note=READ_IS_VISIBILITY,
    ),
    department_case("GET", "/api/v1/departments/{department_id}/storage", P.STORAGE_READ, home),
    department_case(
        "PUT",
        "/api/v1/departments/{department_id}/storage",
        P.STORAGE_MANAGE,
        home,
        success=403,
        note=PLATFORM_ONLY,
    ),
]
