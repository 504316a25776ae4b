"""Findings through the API on a real database: filters, never the embedding; reviews and
precision per analyzer; finding text in the evidence search (a false one leaves it)."""

from __future__ import annotations

import httpx

from citywitness.access.levels import Role
from citywitness.analysis import batch, runs
from citywitness.analysis.models import RunTrigger
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.analysis.pipeline_ticks import MODEL
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

INVESTIGATOR = {PUBLIC_SECURITY: [Role.INVESTIGATOR]}
OPERATOR = {PUBLIC_SECURITY: [Role.OPERATOR]}


async def _analysed(
    db: Database, store: ContentStore, item: EvidenceItem, settings: Settings
) -> str:
    async with db.transaction() as session:
        run = await runs.create(session, item, ["ticks"], trigger=RunTrigger.UPLOAD)
    await batch.execute(db, store, settings, run.id)
    return str(run.id)


def _path(item: EvidenceItem) -> str:
    return f"/api/v1/evidence/{item.id}/analysis/findings"


async def _search(client: httpx.AsyncClient, actor: Actor, q: str) -> list[str]:
    found = await client.get("/api/v1/evidence", params={"q": q}, headers=actor.headers)
    assert found.status_code == 200, found.text
    return [hit["id"] for hit in found.json()["items"]]


async def test_list_with_filters_and_without_vectors(
    db: Database,
    client: httpx.AsyncClient,
    store: ContentStore,
    item: EvidenceItem,
    ticks_settings: Settings,
) -> None:
    run_id = await _analysed(db, store, item, ticks_settings)
    actor = await make_actor(db, roles=OPERATOR)
    listed = await client.get(_path(item), headers=actor.headers)
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [(r["offset_s"], r["attributes"]["text"]) for r in rows] == [
        (float(s), f"tick{s}") for s in range(6)
    ]
    first = rows[0]
    assert {k: v for k, v in first.items() if k not in ("id", "created_at")} == {
        "run_id": run_id,
        "evidence_id": str(item.id),
        "segment_sha256": item.sha256,
        "analyzer": "ticks",
        "label": "tick",
        "offset_s": 0.0,
        "duration_s": 0.5,
        "box": {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5},
        "confidence": 0.9,
        "model": {"name": MODEL.name, "version": MODEL.version, "sha256": MODEL.sha256},
        "attributes": {"text": "tick0", "second": 0},
        "alert_kind": None,
        "review": None,
        "reviewed_by": None,
        "reviewed_at": None,
    }
    assert all("vector" not in r for r in rows)
    window = await client.get(
        _path(item),
        params={"analyzer": "ticks", "label": "tick", "start_s": 2, "end_s": 4},
        headers=actor.headers,
    )
    assert [r["offset_s"] for r in window.json()] == [2.0, 3.0]
    assert [r["alert_kind"] for r in window.json()] == [None, "keyword"]
    other = await client.get(_path(item), params={"analyzer": "plates"}, headers=actor.headers)
    assert other.json() == []
    limited = await client.get(_path(item), params={"limit": 2}, headers=actor.headers)
    assert [r["offset_s"] for r in limited.json()] == [0.0, 1.0]
    elsewhere = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    assert (await client.get(_path(item), headers=elsewhere.headers)).status_code == 404


async def test_review_precision_and_search(
    db: Database,
    client: httpx.AsyncClient,
    store: ContentStore,
    item: EvidenceItem,
    ticks_settings: Settings,
) -> None:
    await _analysed(db, store, item, ticks_settings)
    investigator = await make_actor(db, roles=INVESTIGATOR)
    operator = await make_actor(db, roles=OPERATOR)
    assert await _search(client, investigator, "tick3") == [str(item.id)]
    assert await _search(client, investigator, "tock3") == []
    ids = [r["id"] for r in (await client.get(_path(item), headers=operator.headers)).json()]
    precision = await client.get("/api/v1/analysis/precision", headers=operator.headers)
    assert precision.json() == []

    def review(finding_id: int) -> str:
        return f"{_path(item)}/{finding_id}/review"

    denied = await client.post(review(ids[3]), json={"review": "false"}, headers=operator.headers)
    assert denied.status_code == 403
    false = await client.post(
        review(ids[3]), json={"review": "false"}, headers=investigator.headers
    )
    assert false.status_code == 200, false.text
    assert (false.json()["review"], false.json()["reviewed_by"]) == (
        "false",
        str(investigator.user.id),
    )
    confirmed = await client.post(
        review(ids[1]), json={"review": "confirmed"}, headers=investigator.headers
    )
    assert confirmed.json()["review"] == "confirmed"
    precision = await client.get("/api/v1/analysis/precision", headers=operator.headers)
    assert precision.json() == [{"analyzer": "ticks", "confirmed": 1, "false": 1, "precision": 0.5}]
    assert await _search(client, investigator, "tick3") == []  # a false finding is not indexed
    assert await _search(client, investigator, "tick1") == [str(item.id)]
    missing = await client.post(
        review(ids[-1] + 1000), json={"review": "false"}, headers=investigator.headers
    )
    assert missing.status_code == 404
    assert missing.json()["error"] == "analysis.finding_not_found"
    bad = await client.post(review(ids[0]), json={"review": "maybe"}, headers=investigator.headers)
    assert bad.status_code == 422
