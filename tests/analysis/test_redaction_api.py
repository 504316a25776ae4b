"""The redaction flow over the API: create, detect (job), review, mute, render (job),
publish, download; the original untouched, the ledger leaf recorded, wrong states refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dlib
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.analysis.redaction_models import Redaction, RedactionTrack
from citywitness.analysis.redaction_tasks import run_detection, run_render
from citywitness.app import create_app
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.ledger.models import LedgerEntry
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.analysis.redaction_clip import audio_of, decoded, make_clip
from tests.evidence.core.helpers import audit_events, make_store, register
from tests.evidence.core.samples import make_jpeg
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

INVESTIGATOR = {PUBLIC_SECURITY: [Role.INVESTIGATOR]}
ADMIN = {PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]}


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path / "store")


@pytest.fixture
def app(settings: Settings, db: Database, store: ContentStore) -> FastAPI:
    application = create_app(settings, db)
    application.state.content_store = store
    return application


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("redaction_api") / "clip.mp4"
    return make_clip(path, seconds=1.0).path.read_bytes()


async def _item(db: Database, store: ContentStore, data: bytes) -> EvidenceItem:
    name = "clip.mp4" if data[4:8] == b"ftyp" else "photo.jpg"
    return (await register(db, store, data, filename=name)).item


async def _create(client: httpx.AsyncClient, actor: Actor, item: EvidenceItem) -> dict[str, object]:
    body = {"plates": False, "every": 3, "mute": [{"start_s": 0.2, "end_s": 0.5}]}
    made = await client.post(
        f"/api/v1/evidence/{item.id}/redactions", json=body, headers=actor.headers
    )
    assert made.status_code == 202, made.text
    out: dict[str, object] = made.json()
    return out


async def test_full_flow(
    db: Database, store: ContentStore, client: httpx.AsyncClient, clip_bytes: bytes, tmp_path: Path
) -> None:
    item = await _item(db, store, clip_bytes)
    reviewer = await make_actor(db, roles=INVESTIGATOR)
    admin = await make_actor(db, roles=ADMIN)
    made = await _create(client, reviewer, item)
    assert (made["state"], made["original_sha256"], made["mute"]) == (
        "detecting",
        item.sha256,
        [{"start_s": 0.2, "end_s": 0.5}],
    )
    rid = made["id"]
    assert await run_detection(db, store, rid) == "done"  # type: ignore[arg-type]
    assert await run_detection(db, store, rid) == "skipped"  # type: ignore[arg-type]

    url = f"/api/v1/redactions/{rid}"
    tracks = (await client.get(f"{url}/tracks", headers=reviewer.headers)).json()["items"]
    assert sorted((t["label"], t["source"], t["removed"]) for t in tracks) == [
        ("face", "auto", False),
        ("face", "auto", False),
    ]
    manual = await client.post(
        f"{url}/tracks",
        json={"start_s": 0.0, "end_s": 1.0, "box": {"x": 0.3, "y": 0.8, "w": 0.4, "h": 0.15}},
        headers=reviewer.headers,
    )
    assert manual.status_code == 201, manual.text
    assert [k["t"] for k in manual.json()["keyframes"]] == [0.0, 1.0]
    # a false box: added, then removed; and one adjusted
    false = await client.post(
        f"{url}/tracks",
        json={"start_s": 0.1, "end_s": 0.2, "box": {"x": 0.0, "y": 0.0, "w": 0.1, "h": 0.1}},
        headers=reviewer.headers,
    )
    fid = false.json()["id"]
    assert (await client.delete(f"{url}/tracks/{fid}", headers=reviewer.headers)).status_code == 204
    patched = await client.patch(
        f"{url}/tracks/{manual.json()['id']}", json={"end_s": 0.98}, headers=reviewer.headers
    )
    assert (patched.status_code, patched.json()["end_s"]) == (200, 0.98)
    bad = await client.patch(f"{url}/tracks/{fid}", json={"start_s": 5.0}, headers=reviewer.headers)
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_track")
    mute = await client.put(
        f"{url}/mute", json={"ranges": [{"start_s": 0.3, "end_s": 0.6}]}, headers=reviewer.headers
    )
    assert mute.json()["mute"] == [{"start_s": 0.3, "end_s": 0.6}]

    early = await client.post(f"{url}/publish", headers=admin.headers)
    assert (early.status_code, early.json()["error"]) == (409, "redaction_not_rendered")
    rendering = await client.post(f"{url}/render", headers=reviewer.headers)
    assert rendering.json()["state"] == "rendering"
    plan_sha = rendering.json()["plan_sha256"]
    late = await client.post(
        f"{url}/tracks",
        json={"start_s": 0, "end_s": 1, "box": {"x": 0, "y": 0, "w": 0.1, "h": 0.1}},
        headers=reviewer.headers,
    )
    assert (late.status_code, late.json()["error"]) == (409, "redaction_not_editable")

    assert await run_render(db, store, rid) == "done"  # type: ignore[arg-type]
    assert await run_render(db, store, rid) == "skipped"  # type: ignore[arg-type]
    done = (await client.get(url, headers=reviewer.headers)).json()
    assert (done["state"], done["plan_sha256"], done["frames"]) == ("rendered", plan_sha, 25)

    # one derivative, one ledger leaf naming original, derivative, redaction and plan
    made_events = await audit_events(db, "evidence.derivative_made")
    assert [(e.details["kind"], e.details["sha256"]) for e in made_events] == [
        ("redacted", done["derivative_sha256"])
    ]
    async with db.transaction() as session:
        entries = list(
            await session.scalars(
                select(LedgerEntry).where(LedgerEntry.kind == "evidence.derivative_created")
            )
        )
        original = await session.get(EvidenceItem, item.id)
    assert len(entries) == 1
    leaf = json.loads(entries[0].leaf)
    leaf_text = json.dumps(leaf)
    for value in (done["derivative_sha256"], plan_sha, item.sha256, rid):
        assert value in leaf_text
    assert original is not None and original.sha256 == item.sha256
    assert hashlib.sha256(await store.read_all(item.sha256)).hexdigest() == item.sha256

    video = await client.get(f"{url}/video", headers=reviewer.headers)
    assert (video.status_code, video.headers["content-type"]) == (200, "video/mp4")
    assert hashlib.sha256(video.content).hexdigest() == done["derivative_sha256"]
    out = tmp_path / "out.mp4"
    out.write_bytes(video.content)
    detector = dlib.get_frontal_face_detector()
    assert [len(detector(f, 1)) for f in decoded(out)] == [0] * 25
    samples, rate = audio_of(out)
    assert float(abs(samples[round(0.33 * rate) : round(0.57 * rate)]).max()) < 1e-3

    denied = await client.post(f"{url}/publish", headers=reviewer.headers)
    assert denied.status_code == 403
    published = await client.post(f"{url}/publish", headers=admin.headers)
    assert (published.json()["state"], published.json()["published_by"]) == (
        "published",
        str(admin.user.id),
    )
    again = await client.post(f"{url}/publish", headers=admin.headers)
    assert (again.status_code, again.json()["error"]) == (409, "redaction_not_rendered")
    actions = [e.action for e in await audit_events(db, "evidence.redaction.publish")]
    assert actions == ["evidence.redaction.publish"]


async def test_scope_and_kinds(
    db: Database, store: ContentStore, client: httpx.AsyncClient, clip_bytes: bytes
) -> None:
    item = await _item(db, store, clip_bytes)
    outsider = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    officer = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    reviewer = await make_actor(db, roles=INVESTIGATOR)
    path = f"/api/v1/evidence/{item.id}/redactions"
    for actor in (outsider, officer):
        refused = await client.post(path, json={}, headers=actor.headers)
        assert refused.status_code in {403, 404}
    assert (await client.post(path, json={}, headers=outsider.headers)).status_code == 404
    made = await _create(client, reviewer, item)
    other = await client.get(f"/api/v1/redactions/{made['id']}", headers=outsider.headers)
    assert other.status_code == 404
    photo = await _item(db, store, make_jpeg())
    refused = await client.post(
        f"/api/v1/evidence/{photo.id}/redactions", json={}, headers=reviewer.headers
    )
    assert (refused.status_code, refused.json()["error"]) == (422, "evidence_not_video")
    async with db.transaction() as session:
        count = len(list(await session.scalars(select(Redaction.id))))
        tracks = len(list(await session.scalars(select(RedactionTrack.id))))
    assert (count, tracks) == (1, 0)
    listed = await client.get(path, headers=reviewer.headers)
    assert [r["id"] for r in listed.json()["items"]] == [made["id"]]
    unknown = await client.get(f"/api/v1/redactions/{item.id}", headers=reviewer.headers)
    assert unknown.status_code == 404
