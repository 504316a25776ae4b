"""GET /evidence/{id}, PATCH /evidence/{id}, GET /evidence/categories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import Permission
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import audit_events, make_item
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor

INVESTIGATOR = {PUBLIC_SECURITY: [Role.INVESTIGATOR]}


async def _fresh(db: Database, item_id: object) -> EvidenceItem:
    async with db.transaction() as session:
        found = await session.get(EvidenceItem, item_id)
        assert found is not None
        return found


async def test_read_an_item(db: Database, store: ContentStore, client: httpx.AsyncClient) -> None:
    item = await make_item(db, store, tags=["night"], notes="crossing")
    actor = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    response = await client.get(f"/api/v1/evidence/{item.id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == str(item.id)
    assert body["sha256"] == item.sha256
    assert (body["kind"], body["classification"], body["tags"]) == ("video", "internal", ["night"])
    assert body["derivatives"] == []
    [event] = await audit_events(db, "evidence.read")
    assert (event.actor_user_id, event.object_id) == (actor.user.id, str(item.id))


async def test_out_of_scope_and_over_clearance_are_404(
    db: Database, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store, classification="sensitive")
    other = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    low = await make_actor(db, roles=INVESTIGATOR, clearance=Classification.INTERNAL)
    for actor in (other, low):
        response = await client.get(f"/api/v1/evidence/{item.id}", headers=actor.headers)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


async def test_patch_changes_metadata_and_keeps_search_in_step(
    db: Database, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store, category_code="non-evidentiary", notes="old")
    actor = await make_actor(db, roles=INVESTIGATOR)
    body = {
        "tags": ["assault", "assault", "crossing"],
        "notes": "Suspect in blue jacket",
        "category_code": "criminal-evidence",
        "classification": "sensitive",
    }
    response = await client.patch(f"/api/v1/evidence/{item.id}", json=body, headers=actor.headers)
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["tags"], out["notes"], out["classification"]) == (
        ["assault", "crossing"],
        "Suspect in blue jacket",
        "sensitive",
    )
    assert out["retain_until"] is None  # criminal evidence is kept permanently
    found = await client.get("/api/v1/evidence", params={"q": "jacket"}, headers=actor.headers)
    assert [i["id"] for i in found.json()["items"]] == [str(item.id)]
    [event] = await audit_events(db, "evidence.update")
    assert event.details["changed"] == ["category_id", "classification", "notes", "tags"]
    assert event.details["before"]["classification"] == 1
    assert event.details["after"]["classification"] == 2


async def test_a_new_category_never_shortens_retention(
    db: Database, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store, category_code="criminal-evidence")
    actor = await make_actor(db, roles=INVESTIGATOR)
    response = await client.patch(
        f"/api/v1/evidence/{item.id}",
        json={"category_code": "non-evidentiary"},
        headers=actor.headers,
    )
    assert response.status_code == 200
    assert (await _fresh(db, item.id)).retain_until is None


async def test_classification_never_above_the_callers_clearance(
    db: Database, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    actor = await make_actor(db, roles=INVESTIGATOR, clearance=Classification.SENSITIVE)
    response = await client.patch(
        f"/api/v1/evidence/{item.id}", json={"classification": "secret"}, headers=actor.headers
    )
    assert response.status_code == 403
    assert response.json()["error"] == "classification_above_clearance"
    assert (await _fresh(db, item.id)).classification == Classification.INTERNAL
    lowered = await client.patch(
        f"/api/v1/evidence/{item.id}", json={"classification": "public"}, headers=actor.headers
    )
    assert lowered.status_code == 200
    assert lowered.json()["classification"] == "public"


async def test_patch_needs_evidence_manage(
    db: Database, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    officer = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    response = await client.patch(
        f"/api/v1/evidence/{item.id}", json={"notes": "x"}, headers=officer.headers
    )
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    token_without = await make_actor(db, roles=INVESTIGATOR, scopes=[Permission.EVIDENCE_READ])
    response = await client.patch(
        f"/api/v1/evidence/{item.id}", json={"notes": "x"}, headers=token_without.headers
    )
    assert response.status_code == 403
    assert (await _fresh(db, item.id)).notes == ""


async def test_patch_refuses_bad_input(
    db: Database, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    actor = await make_actor(db, roles=INVESTIGATOR)
    start = datetime.now(UTC)
    cases = [
        ({"sha256": "0" * 64}, 422, "validation_failed"),
        ({"tags": None}, 422, "invalid_metadata"),
        ({"tags": ["x" * 81]}, 422, "validation_failed"),
        ({"category_code": "nope"}, 422, "unknown_category"),
        ({"officer_id": "00000000-0000-4000-8000-000000000099"}, 422, "unknown_officer"),
        (
            {
                "captured_start": start.isoformat(),
                "captured_end": (start - timedelta(hours=1)).isoformat(),
            },
            422,
            "invalid_metadata",
        ),
    ]
    for body, status, code in cases:
        response = await client.patch(
            f"/api/v1/evidence/{item.id}", json=body, headers=actor.headers
        )
        assert (response.status_code, response.json()["error"]) == (status, code), body
    assert await audit_events(db, "evidence.update") == []


async def test_categories(db: Database, client: httpx.AsyncClient) -> None:
    actor = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    response = await client.get("/api/v1/evidence/categories", headers=actor.headers)
    assert response.status_code == 200
    items = {c["code"]: c for c in response.json()["items"]}
    assert items["non-evidentiary"]["retention_days"] == 180
    assert items["criminal-evidence"]["retention_days"] is None
    assert len(items) == 6
