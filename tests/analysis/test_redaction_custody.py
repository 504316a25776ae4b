"""Redacted videos as custody: each render is a derivative of its item (several per item),
publishing writes a ledger leaf linking original, derivative and plan, and destroying the
item shreds its redacted videos with it."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.analysis.redaction_tasks import run_render
from citywitness.app import create_app
from citywitness.audit.models import AuditEvent
from citywitness.evidence.derivative_models import Derivative
from citywitness.evidence.lifecycle_tasks import run_retention
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.ledger.events import rfc3339
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.models import LedgerEntry
from citywitness.ledger.recompute import verify_log
from citywitness.ledger.sequencer import sequence_all
from citywitness.settings import Settings
from citywitness.storage.errors import KeyDestroyed
from citywitness.storage.store import ContentStore
from tests.evidence.core.samples import make_mp4
from tests.evidence.retention.helpers import make_item, make_store
from tests.factories import PUBLIC_SECURITY, Actor, make_actor

INVESTIGATOR = {PUBLIC_SECURITY: [Role.INVESTIGATOR]}
ADMIN = {PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]}
NOTHING_TO_DETECT = {"faces": False, "plates": False}
BOX = {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5}


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path / "store")


@pytest.fixture
def app(settings: Settings, db: Database, store: ContentStore) -> FastAPI:
    application = create_app(settings, db)
    application.state.content_store = store
    return application


@pytest.fixture(scope="module")
def clip_bytes() -> bytes:
    return make_mp4(1.0, width=160, height=120)


async def _rendered(
    db: Database,
    store: ContentStore,
    client: httpx.AsyncClient,
    actor: Actor,
    item: EvidenceItem,
    *,
    box: dict[str, float] | None = None,
) -> dict[str, object]:
    """A redaction of `item` (nothing detected: straight to review), with `box` filled
    black over the whole clip if given, rendered."""
    made = await client.post(
        f"/api/v1/evidence/{item.id}/redactions",
        json={**NOTHING_TO_DETECT, "mode": "solid"},
        headers=actor.headers,
    )
    assert (made.status_code, made.json()["state"]) == (202, "review"), made.text
    rid = made.json()["id"]
    if box is not None:
        track = {"start_s": 0.0, "end_s": 1.0, "box": box}
        added = await client.post(
            f"/api/v1/redactions/{rid}/tracks", json=track, headers=actor.headers
        )
        assert added.status_code == 201, added.text
    rendering = await client.post(f"/api/v1/redactions/{rid}/render", headers=actor.headers)
    assert rendering.status_code == 202, rendering.text
    assert await run_render(db, store, uuid.UUID(rid)) == "done"
    done: dict[str, object] = (
        await client.get(f"/api/v1/redactions/{rid}", headers=actor.headers)
    ).json()
    assert done["state"] == "rendered"
    return done


async def _leaves(db: Database, kind: str) -> list[dict[str, object]]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(LedgerEntry.leaf).where(LedgerEntry.kind == kind).order_by(LedgerEntry.id)
        )
        return [json.loads(leaf) for leaf in rows]


async def test_renders_are_derivatives_and_publishing_is_in_the_ledger(
    db: Database,
    store: ContentStore,
    client: httpx.AsyncClient,
    settings: Settings,
    clip_bytes: bytes,
) -> None:
    item = await make_item(db, store, data=clip_bytes)
    reviewer = await make_actor(db, roles=INVESTIGATOR)
    admin = await make_actor(db, roles=ADMIN)
    boxed = await _rendered(db, store, client, reviewer, item, box=BOX)
    plain = await _rendered(db, store, client, reviewer, item)
    same = await _rendered(db, store, client, reviewer, item)  # the same plan, the same bytes
    assert boxed["derivative_sha256"] != plain["derivative_sha256"]
    assert same["derivative_sha256"] == plain["derivative_sha256"]

    # each distinct render is a derivative of the item, kind "redacted"
    async with db.transaction() as session:
        rows = list(
            await session.scalars(select(Derivative).where(Derivative.evidence_id == item.id))
        )
    assert sorted(
        (r.kind, r.sha256, r.size_bytes, r.media_type, r.width, r.height) for r in rows
    ) == sorted(
        ("redacted", out["derivative_sha256"], out["derivative_size"], "video/mp4", 160, 120)
        for out in (boxed, plain)
    )
    # the item view lists playable derivatives only; the redactions list links the videos
    viewed = await client.get(f"/api/v1/evidence/{item.id}", headers=reviewer.headers)
    assert (viewed.status_code, viewed.json()["derivatives"]) == (200, [])
    listed = await client.get(f"/api/v1/evidence/{item.id}/redactions", headers=reviewer.headers)
    assert sorted((r["id"], r["video_url"]) for r in listed.json()["items"]) == sorted(
        (out["id"], f"/api/v1/redactions/{out['id']}/video") for out in (boxed, plain, same)
    )

    rid = boxed["id"]
    published = await client.post(f"/api/v1/redactions/{rid}/publish", headers=admin.headers)
    assert published.status_code == 200, published.text
    out = published.json()
    assert (out["state"], out["published_by"]) == ("published", str(admin.user.id))
    published_at = datetime.fromisoformat(out["published_at"])

    leaves = await _leaves(db, "evidence.derivative_published")
    assert len(leaves) == 1
    leaf = leaves[0]
    assert (leaf["object"], leaf["department"], leaf["actor"]) == (
        {"type": "evidence", "id": str(item.id)},
        str(PUBLIC_SECURITY),
        {"kind": "user", "id": str(admin.user.id)},
    )
    assert leaf["details"] == {
        "kind": "redacted",
        "sha256": boxed["derivative_sha256"],
        "size_bytes": boxed["derivative_size"],
        "original_sha256": item.sha256,
        "plan_sha256": boxed["plan_sha256"],
        "redaction_id": rid,
        "published_at": rfc3339(published_at),
    }
    assert item.sha256 == boxed["original_sha256"]
    # one audit event for the publication, and the log still verifies
    async with db.transaction() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action == "evidence.redaction.publish")
            )
        )
    assert actions == ["evidence.redaction.publish"]
    await sequence_all(db, settings)
    async with db.transaction() as session:
        report = await verify_log(session, log_vkey(settings))
    assert report.ok, report.failures
    assert report.leaves == 4  # three renders and one publication (make_item writes no leaf)


async def test_destroying_the_item_shreds_its_redacted_videos(
    db: Database, store: ContentStore, client: httpx.AsyncClient, clip_bytes: bytes
) -> None:
    item = await make_item(db, store, data=clip_bytes)  # expired a day ago
    reviewer = await make_actor(db, roles=INVESTIGATOR)
    admin = await make_actor(db, roles=ADMIN)
    rendered = await _rendered(db, store, client, reviewer, item)
    rid = rendered["id"]
    sha = str(rendered["derivative_sha256"])
    assert (
        await client.post(f"/api/v1/redactions/{rid}/publish", headers=admin.headers)
    ).is_success
    assert len(await store.read_all(sha)) == rendered["derivative_size"]

    now = utcnow()
    assert (await run_retention(db, store, review_days=7, now=now)).queued == 1
    due = await run_retention(db, store, review_days=7, now=now + timedelta(days=7))
    assert (due.outcomes, due.failed) == ({"destroyed": 1}, [])
    for gone in (item.sha256, sha):
        with pytest.raises(KeyDestroyed):
            await store.read_all(gone)
    async with db.transaction() as session:
        destroyed = await session.scalar(
            select(AuditEvent.details).where(AuditEvent.action == "evidence.destroy")
        )
    assert destroyed is not None and destroyed["derivatives"] == 1

    video = await client.get(f"/api/v1/redactions/{rid}/video", headers=reviewer.headers)
    assert (video.status_code, video.json()["error"]) == (410, "evidence_destroyed")
    kept = await client.get(f"/api/v1/redactions/{rid}", headers=reviewer.headers)
    assert (kept.json()["state"], kept.json()["derivative_sha256"]) == ("published", sha)
