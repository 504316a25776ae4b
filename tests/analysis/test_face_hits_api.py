"""Face-match candidates of a watch-listed person: only for faces:match, only in scope."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.analysis import findings as findings_service
from citywitness.analysis.contracts import Finding, ModelRef
from citywitness.analysis.faces import FacesConfig  # noqa: F401 - registers "faces"
from citywitness.audit.models import AuditEvent
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.storage import ContentStore
from tests.analysis.conftest import video_item
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor

BASE = "/api/v1/watchlists/faces/persons"
MODEL = ModelRef("dlib-resnet-v1", "1.0", "0" * 64)


def _candidate(person_id: str, offset: float, distance: float) -> Finding:
    watch = {
        "list": "faces",
        "entry_id": person_id,
        "reason": "warrant",
        "distance": distance,
        "threshold": 0.55,
        "candidate": True,
        "needs_confirmation": True,
    }
    return Finding(
        analyzer="faces",
        label="face",
        offset_s=offset,
        confidence=0.93,
        model=MODEL,
        attributes={"watchlist": watch},
    )


async def test_candidates_of_a_person_in_scope_for_faces_match(
    db: Database, client: httpx.AsyncClient, item: EvidenceItem, store: ContentStore
) -> None:
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    body = {
        "department_id": str(PUBLIC_SECURITY),
        "label": "Suspect A",
        "reason": "warrant 17/2026",
        "expires_at": (utcnow() + timedelta(days=30)).isoformat(),
    }
    made = await client.post(BASE, json=body, headers=investigator.headers)
    assert made.status_code == 201, made.text
    person_id = made.json()["id"]
    elsewhere = await video_item(db, store, department_id=TRAFFIC_POLICE)
    async with db.transaction() as session:
        for evidence, found in (
            (item, [_candidate(person_id, 4.0, 0.41), _candidate(str(uuid.uuid4()), 5.0, 0.3)]),
            (elsewhere, [_candidate(person_id, 6.0, 0.35)]),  # not the investigator's to see
        ):
            await findings_service.store(
                session,
                evidence_id=evidence.id,
                department_id=evidence.department_id,
                run_id=None,
                segment_sha256=None,
                findings=found,
            )
    answer = await client.get(f"{BASE}/{person_id}/hits", headers=investigator.headers)
    assert answer.status_code == 200, answer.text
    assert [
        (h["evidence_id"], h["offset_s"], h["distance"], h["threshold"], h["review_state"])
        for h in answer.json()["items"]
    ] == [(str(item.id), 4.0, 0.41, 0.55, None)]
    async with db.transaction() as session:
        details = (
            await session.execute(
                select(AuditEvent.details).where(AuditEvent.action == "watchlists.faces.hits")
            )
        ).scalar_one()
    assert details == {"count": 1, "evidence": [str(item.id)]}
    # A department admin reads the person but holds no faces:match: no candidates.
    refused = await client.get(f"{BASE}/{person_id}/hits", headers=admin.headers)
    assert refused.status_code == 403
    # Another department does not see the person at all.
    other = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    hidden = await client.get(f"{BASE}/{person_id}/hits", headers=other.headers)
    assert hidden.status_code == 404
