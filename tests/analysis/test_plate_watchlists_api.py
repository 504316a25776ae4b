"""Plate watch lists through the API on a real database: lists and entries (and their
errors), CSV import (all or nothing), removal and expiry, scope, audit, hits, and the
database loader that the pipeline hands to the plates analyzer."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.analysis import findings as findings_service
from citywitness.analysis.contracts import Finding, ModelRef, watchlist_from_db
from citywitness.analysis.plate_watchlist_models import PlateList, PlateListEntry
from citywitness.analysis.plates import PlatesAnalyzer  # noqa: F401 - registers "plates"
from citywitness.audit.models import AuditEvent
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.storage import ContentStore
from tests.analysis.conftest import video_item
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

BASE = "/api/v1/watchlists/plates"


async def _list(
    client: httpx.AsyncClient, actor: Actor, name: str = "stolen cars", kind: str = "stolen"
) -> str:
    body = {"department_id": str(PUBLIC_SECURITY), "name": name, "kind": kind}
    made = await client.post(BASE, json=body, headers=actor.headers)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def _entry(client: httpx.AsyncClient, actor: Actor, list_id: str, **body: object) -> dict:  # type: ignore[type-arg]
    response = await client.post(
        f"{BASE}/{list_id}/entries", json={"reason": "r", **body}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_add_read_and_audit(db: Database, client: httpx.AsyncClient) -> None:
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    list_id = await _list(client, admin)
    entry = await _entry(client, admin, list_id, plate="沪A·12345", country="cn")
    assert (entry["plate"], entry["country"], entry["active"]) == ("沪A12345", "CN", True)
    read = (await client.get(f"{BASE}/{list_id}", headers=admin.headers)).json()
    assert (read["name"], read["kind"], [e["id"] for e in read["entries"]]) == (
        "stolen cars",
        "stolen",
        [entry["id"]],
    )
    listed = (await client.get(BASE, headers=admin.headers)).json()["items"]
    assert [(i["id"], i["active_entries"]) for i in listed] == [(list_id, 1)]
    async with db.transaction() as session:
        actions = (
            await session.execute(
                select(AuditEvent.action, AuditEvent.details)
                .where(AuditEvent.action.like("watchlists.plates.%"))
                .order_by(AuditEvent.id)
            )
        ).all()
    assert [a for a, _ in actions] == [
        "watchlists.plates.create_list",
        "watchlists.plates.add_entry",
        "watchlists.plates.read",
        "watchlists.plates.list",
    ]
    assert all("12345" not in str(details) for _, details in actions)  # ids, never plates


async def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    db: Database, client: httpx.AsyncClient
) -> None:
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    list_id = await _list(client, admin)
    await _entry(client, admin, list_id, plate="AB-123-CD")
    url = f"{BASE}/{list_id}/entries"
    past = (utcnow() - timedelta(days=1)).isoformat()
    for body, status, code in (
        ({"plate": "A?B!"}, 422, "invalid_plate"),
        ({"plate": "XY987ZW", "expires_at": past}, 422, "invalid_expiry"),
        ({"plate": "ab 123 cd"}, 409, "plate_entry_exists"),
        ({"plate": "XY987ZW", "country": "FRA"}, 422, "validation_failed"),
    ):
        response = await client.post(url, json=body, headers=admin.headers)
        assert (response.status_code, response.json()["error"]) == (status, code), body
    again = {"department_id": str(PUBLIC_SECURITY), "name": "stolen cars", "kind": "stolen"}
    response = await client.post(BASE, json=again, headers=admin.headers)
    assert (response.status_code, response.json()["error"]) == (409, "plate_list_exists")
    async with db.transaction() as session:
        plates = (await session.execute(select(PlateListEntry.plate))).scalars().all()
    assert plates == ["AB123CD"]


async def test_csv_import_is_all_or_nothing(db: Database, client: httpx.AsyncClient) -> None:
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    await _list(client, admin, name="stolen")
    url = f"{BASE}/import?department_id={PUBLIC_SECURITY}"
    headers = {**admin.headers, "content-type": "text/csv"}
    bad = "plate,list,reason\nAB123CD,stolen,ok\nA,stolen,too short\n"
    response = await client.post(url, content=bad.encode(), headers=headers)
    body = response.json()
    assert (response.status_code, body["error"], body["fields"]["line"]) == (422, "invalid_csv", 3)
    good = (
        "plate,list,reason,kind,expires_at\n"
        "AB123CD,stolen,case 1,,\n"
        "ab-123-cd,stolen,same plate again,,\n"
        f"7ABC123,Unpaid tolls,fines,unpaid_violation,{(utcnow() + timedelta(days=9)).date()}\n"
    )
    response = await client.post(url, content=good.encode(), headers=headers)
    assert response.json() == {"lists_created": 1, "entries_added": 2, "duplicates_skipped": 1}
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(PlateList.name, PlateList.kind, PlateListEntry.plate)
                .join(PlateListEntry, PlateListEntry.list_id == PlateList.id)
                .order_by(PlateListEntry.plate)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("Unpaid tolls", "unpaid_violation", "7ABC123"),
        ("stolen", "stolen", "AB123CD"),
    ]


async def test_scope_removal_expiry_and_the_pipeline_loader(
    db: Database, client: httpx.AsyncClient
) -> None:
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    other = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    list_id = await _list(client, admin)
    kept = await _entry(client, admin, list_id, plate="AB123CD")
    gone = await _entry(client, admin, list_id, plate="XY987ZW")
    assert (await client.get(f"{BASE}/{list_id}", headers=other.headers)).status_code == 404
    assert (await client.get(BASE, headers=other.headers)).json() == {"items": []}
    entry_url = f"{BASE}/{list_id}/entries/{gone['id']}"
    assert (await client.delete(entry_url, headers=other.headers)).status_code == 404
    removed = await client.delete(entry_url, headers=admin.headers)
    assert (removed.status_code, removed.json()["active"]) == (200, False)
    again = await client.delete(entry_url, headers=admin.headers)
    assert (again.status_code, again.json()["error"]) == (409, "plate_entry_removed")
    async with db.transaction() as session:
        session.add(
            PlateListEntry(
                id=uuid.uuid4(),
                list_id=uuid.UUID(list_id),
                plate="EXP1RED",
                reason="",
                added_by=admin.user.id,
                expires_at=utcnow() - timedelta(minutes=1),
            )
        )
    read = (await client.get(f"{BASE}/{list_id}", headers=admin.headers)).json()
    assert [e["plate"] for e in read["entries"]] == ["AB123CD"]
    everything = await client.get(f"{BASE}/{list_id}?active_only=false", headers=admin.headers)
    assert sorted(e["plate"] for e in everything.json()["entries"]) == [
        "AB123CD",
        "EXP1RED",
        "XY987ZW",
    ]
    loader = watchlist_from_db("plates")
    assert loader is not None
    async with db.transaction() as session:
        watch = await loader(session, [PUBLIC_SECURITY])
        assert [e.entry_id for e in watch.entries] == [kept["id"]]
        assert watch.match("A8123CD").entry.list_name == "stolen cars"
        assert len(await loader(session, [TRAFFIC_POLICE])) == 0


async def test_hits_are_the_matching_findings_in_scope(
    db: Database, client: httpx.AsyncClient, item: EvidenceItem, store: ContentStore
) -> None:
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    list_id = await _list(client, admin)
    entry = await _entry(client, admin, list_id, plate="AB123CD")
    elsewhere = await video_item(db, store, department_id=TRAFFIC_POLICE)
    model = ModelRef("ppocr-v6-rec-small", "3.10.0", "0" * 64)

    def plate_finding(entry_id: str, offset: float) -> Finding:
        watch = {"list": "stolen cars", "entry_id": entry_id, "reason": "r", "exact": True}
        return Finding(
            analyzer="plates",
            label="plate",
            offset_s=offset,
            confidence=0.99,
            model=model,
            attributes={"text": "AB123CD", "display": "AB-123-CD", "watchlist": watch},
        )

    async with db.transaction() as session:
        for evidence, found in (
            (item, [plate_finding(entry["id"], 1.5), plate_finding(str(uuid.uuid4()), 2.0)]),
            (elsewhere, [plate_finding(entry["id"], 3.0)]),  # not the admin's to see
        ):
            await findings_service.store(
                session,
                evidence_id=evidence.id,
                department_id=evidence.department_id,
                run_id=None,
                segment_sha256=None,
                findings=found,
            )
    url = f"{BASE}/{list_id}/entries/{entry['id']}/hits"
    hits = (await client.get(url, headers=admin.headers)).json()["items"]
    assert [(h["evidence_id"], h["offset_s"], h["plate"], h["exact"]) for h in hits] == [
        (str(item.id), 1.5, "AB123CD", True)
    ]
    async with db.transaction() as session:
        details = (
            await session.execute(
                select(AuditEvent.details).where(AuditEvent.action == "watchlists.plates.hits")
            )
        ).scalar_one()
    assert details == {"count": 1, "evidence": [str(item.id)]}
