"""Thumbnails and browser proxies: made by the job, stored encrypted, served with ranges."""

from __future__ import annotations

import io

import httpx
from sqlalchemy import select, update

from citywitness.access.levels import Role
from citywitness.agencies.models import Department
from citywitness.evidence.derivative_models import Derivative
from citywitness.evidence.ingest import referenced_shas
from citywitness.evidence.media import probe
from citywitness.evidence.tasks import build_derivatives
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import audit_events, make_item, register
from tests.evidence.core.samples import make_jpeg, make_mp4, make_wav
from tests.factories import PUBLIC_SECURITY, make_actor

OFFICER = {PUBLIC_SECURITY: [Role.OFFICER]}


async def _no_reason(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Department)
            .where(Department.id == PUBLIC_SECURITY)
            .values(reason_required_for_playback=False)
        )


async def test_video_gets_a_thumbnail_and_a_proxy(
    db: Database, store: ContentStore, settings: Settings, client: httpx.AsyncClient
) -> None:
    await _no_reason(db)
    item = (await register(db, store, make_mp4(2.0, width=640, height=480))).item
    actor = await make_actor(db, roles=OFFICER)
    thumb_url = f"/api/v1/evidence/{item.id}/thumbnail"
    early = await client.get(thumb_url, headers=actor.headers)
    assert (early.status_code, early.json()["error"]) == (404, "derivative_not_ready")

    result = await build_derivatives(db, store, settings.evidence, item.id)
    assert result == {"thumbnail": "made", "proxy": "made"}
    assert await build_derivatives(db, store, settings.evidence, item.id) == {}

    thumb = await client.get(thumb_url, headers=actor.headers)
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    facts = probe(io.BytesIO(thumb.content))
    assert (facts.media_type, facts.width, facts.height) == ("image/jpeg", 320, 240)

    proxy_url = f"/api/v1/evidence/{item.id}/proxy"
    whole = await client.get(proxy_url, headers=actor.headers)
    assert whole.status_code == 200
    proxy = probe(io.BytesIO(whole.content))
    assert (proxy.video_codec, proxy.audio_codec, proxy.height) == ("h264", "aac", 360)
    assert proxy.duration_seconds is not None
    assert abs(proxy.duration_seconds - 2.0) < 0.2
    part = await client.get(proxy_url, headers={**actor.headers, "Range": "bytes=10-19"})
    assert (part.status_code, part.content) == (206, whole.content[10:20])

    async with db.transaction() as session:
        rows = list(await session.scalars(select(Derivative).order_by(Derivative.kind)))
        shas = [row.sha256 for row in rows]
        assert [(r.kind, r.media_type) for r in rows] == [
            ("proxy", "video/mp4"),
            ("thumbnail", "image/jpeg"),
        ]
        assert await referenced_shas(session, shas) == set(shas)
    assert await store.read_all(shas[1]) == thumb.content
    made = await audit_events(db, "evidence.derivative_made")
    assert sorted(e.details["kind"] for e in made) == ["proxy", "thumbnail"]
    assert [e.details["derivative"] for e in await audit_events(db, "evidence.thumbnail")] == [
        "thumbnail"
    ]
    item_out = await client.get(f"/api/v1/evidence/{item.id}", headers=actor.headers)
    assert item_out.json()["derivatives"] == ["proxy", "thumbnail"]


async def test_photos_get_a_thumbnail_only_and_audio_a_proxy_only(
    db: Database, store: ContentStore, settings: Settings
) -> None:
    photo = (await register(db, store, make_jpeg(), filename="scene.jpg")).item
    audio = (await register(db, store, make_wav(), filename="call.wav")).item
    assert await build_derivatives(db, store, settings.evidence, photo.id) == {"thumbnail": "made"}
    assert await build_derivatives(db, store, settings.evidence, audio.id) == {"proxy": "made"}


async def test_the_proxy_needs_evidence_play(
    db: Database, store: ContentStore, settings: Settings, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    await build_derivatives(db, store, settings.evidence, item.id)
    auditor_role = await make_actor(db, roles={PUBLIC_SECURITY: [Role.AUDITOR]})
    response = await client.get(f"/api/v1/evidence/{item.id}/proxy", headers=auditor_role.headers)
    assert (response.status_code, response.json()["error"]) == (403, "permission_denied")
    thumb = await client.get(f"/api/v1/evidence/{item.id}/thumbnail", headers=auditor_role.headers)
    assert thumb.status_code == 200


def test_the_job_is_registered_on_the_worker_app() -> None:
    from citywitness.worker import jobs_app

    task = jobs_app.tasks["evidence:make_derivatives"]
    assert (task.queue, task.retry_strategy is not None) == ("cpu", True)
