"""Face watch-list candidates through the findings API: only callers with faces:match see
the candidate or may confirm it; and what analysis keeps in the content store (snapshots,
redacted videos) stays referenced for the storage sweep until its item is destroyed."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from citywitness.access.levels import Role
from citywitness.access.permissions import Permission
from citywitness.analysis import findings, references
from citywitness.analysis.contracts import Box, Finding, ModelRef
from citywitness.analysis.redaction_models import Redaction, RedactionState
from citywitness.evidence.models import EvidenceItem, EvidenceState
from citywitness.kit.db import Database
from tests.factories import PUBLIC_SECURITY, make_actor

MODEL = ModelRef(name="dlib-resnet", version="0.1.0", sha256="5" * 64)
CANDIDATE = {"list": "faces", "entry_id": "e-1", "distance": 0.31, "candidate": True}


async def _face_finding(db: Database, item: EvidenceItem) -> int:
    face = Finding(
        analyzer="faces",
        label="face",
        offset_s=1.0,
        confidence=0.97,
        model=MODEL,
        box=Box(0.1, 0.1, 0.2, 0.3),
        attributes={"watchlist": CANDIDATE},
        vector=(0.5,) * 128,
    )
    async with db.transaction() as session:
        (stored,) = await findings.store(
            session,
            evidence_id=item.id,
            department_id=item.department_id,
            run_id=None,
            segment_sha256=item.sha256,
            findings=[face],
        )
        return stored.id


async def test_only_faces_match_sees_and_reviews_a_candidate(
    db: Database, client: httpx.AsyncClient, item: EvidenceItem
) -> None:
    finding_id = await _face_finding(db, item)
    path = f"/api/v1/evidence/{item.id}/analysis/findings"
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    seen = await client.get(path, headers=investigator.headers)
    assert [r["attributes"] for r in seen.json()] == [{"watchlist": CANDIDATE}]
    hidden = await client.get(path, headers=admin.headers)  # analysis:read, no faces:match
    assert [r["attributes"] for r in hidden.json()] == [{}]
    without = await make_actor(
        db,
        roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]},
        scopes=[Permission.ANALYSIS_READ, Permission.ANALYSIS_RUN, Permission.EVIDENCE_READ],
    )
    review = f"{path}/{finding_id}/review"
    refused = await client.post(review, json={"review": "confirmed"}, headers=without.headers)
    assert (refused.status_code, refused.json()["error"]) == (403, "permission_denied")
    done = await client.post(review, json={"review": "confirmed"}, headers=investigator.headers)
    assert (done.status_code, done.json()["review"]) == (200, "confirmed")


async def test_redacted_videos_are_referenced_until_their_item_is_destroyed(
    db: Database, item: EvidenceItem
) -> None:
    derivative = "d" * 64
    async with db.transaction() as session:
        admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
        session.add(
            Redaction(
                evidence_id=item.id,
                department_id=item.department_id,
                state=RedactionState.RENDERED,
                mode="blur",
                faces=True,
                plates=True,
                every=2,
                original_sha256=item.sha256,
                derivative_sha256=derivative,
                requested_by=admin.user.id,
            )
        )
    async with db.transaction() as session:
        found = await references.referenced_shas(session, [derivative, "0" * 64])
        assert found == {derivative}
        await session.execute(
            update(EvidenceItem)
            .where(EvidenceItem.id == item.id)
            .values(state=EvidenceState.DESTROYED.value)
        )
        assert await references.referenced_shas(session, [derivative]) == set()
