"""Face watch lists through the API on a real database: enrolment from photos (and its
errors), expiry, scope, audit, the per-department switch and the database loader that the
pipeline hands to the analyzer."""

from __future__ import annotations

import functools
import io
import tarfile
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.analysis.contracts import build, watchlist_from_db
from citywitness.analysis.face_watchlist_models import FaceWatchPerson, FaceWatchPhoto
from citywitness.analysis.faces import ALERT, FacesConfig
from citywitness.analysis.media_source import MediaSource
from citywitness.audit.models import AuditEvent
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

SDIST = Path(__file__).parents[2] / ".cache/testdata/face_recognition-1.3.0.tar.gz"
BASE = "/api/v1/watchlists/faces"


@functools.cache
def photo(name: str) -> bytes:
    with tarfile.open(SDIST) as tar:
        member = tar.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
        assert member is not None
        return member.read()


def _person_body(days: float = 30) -> dict[str, str]:
    return {
        "department_id": str(PUBLIC_SECURITY),
        "label": "Suspect A",
        "reason": "warrant 2026/118",
        "expires_at": (utcnow() + timedelta(days=days)).isoformat(),
    }


async def _enrolled(client: httpx.AsyncClient, actor: Actor, name: str = "obama.jpg") -> str:
    made = await client.post(f"{BASE}/persons", json=_person_body(), headers=actor.headers)
    assert made.status_code == 201, made.text
    person_id: str = made.json()["id"]
    added = await client.post(
        f"{BASE}/persons/{person_id}/photos",
        content=photo(name),
        headers={**actor.headers, "content-type": "image/jpeg"},
    )
    assert added.status_code == 201, added.text
    return person_id


async def _switch(client: httpx.AsyncClient, admin: Actor, *, enabled: bool) -> httpx.Response:
    return await client.put(
        f"{BASE}/policy/{PUBLIC_SECURITY}", json={"enabled": enabled}, headers=admin.headers
    )


async def test_enrol_read_and_audit(db: Database, client: httpx.AsyncClient) -> None:
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    person_id = await _enrolled(client, investigator)
    read = await client.get(f"{BASE}/persons/{person_id}", headers=investigator.headers)
    body = read.json()
    assert (body["label"], body["reason"], body["active"]) == (
        "Suspect A",
        "warrant 2026/118",
        True,
    )
    assert body["added_by"] == str(investigator.user.id)
    (enrolled,) = body["photos"]
    assert len(enrolled["photo_sha256"]) == 64
    assert "embedding" not in enrolled
    async with db.transaction() as session:
        stored = (await session.execute(select(FaceWatchPhoto))).scalars().one()
        actions = (
            await session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == person_id)
                .order_by(AuditEvent.id)
            )
        ).scalars()
        assert list(actions) == [
            "watchlists.faces.create",
            "watchlists.faces.photo_add",
            "watchlists.faces.read",
        ]
    assert len(stored.embedding) == 128


async def test_photo_errors_are_clear_422s(db: Database, client: httpx.AsyncClient) -> None:
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    made = await client.post(f"{BASE}/persons", json=_person_body(), headers=investigator.headers)
    url = f"{BASE}/persons/{made.json()['id']}/photos"
    headers = {**investigator.headers, "content-type": "image/jpeg"}
    group = await _two_faces()
    for content, code in ((b"\xff\xd8 junk", "photo_unreadable"), (group, "several_faces")):
        response = await client.post(url, content=content, headers=headers)
        assert (response.status_code, response.json()["error"]) == (422, code)
    blank = await _blank_jpeg()
    response = await client.post(url, content=blank, headers=headers)
    assert (response.status_code, response.json()["error"]) == (422, "no_face")
    async with db.transaction() as session:
        assert (await session.execute(select(FaceWatchPhoto))).first() is None


async def _two_faces() -> bytes:
    left = np.asarray(Image.open(io.BytesIO(photo("obama2.jpg"))).convert("RGB"))
    out = io.BytesIO()
    Image.fromarray(np.concatenate([left, left[:, ::-1]], axis=1)).save(out, format="JPEG")
    return out.getvalue()


async def _blank_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 90, 90)).save(out, format="JPEG")
    return out.getvalue()


async def test_expiry_must_be_near_future(db: Database, client: httpx.AsyncClient) -> None:
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    for days in (-1, 400):
        response = await client.post(
            f"{BASE}/persons", json=_person_body(days), headers=investigator.headers
        )
        assert (response.status_code, response.json()["error"]) == (422, "invalid_expiry")
    made = await client.post(f"{BASE}/persons", json=_person_body(), headers=investigator.headers)
    url = f"{BASE}/persons/{made.json()['id']}"
    past = {"expires_at": (utcnow() - timedelta(hours=1)).isoformat()}
    response = await client.patch(url, json=past, headers=investigator.headers)
    assert (response.status_code, response.json()["error"]) == (422, "invalid_expiry")
    response = await client.patch(url, json={"reason": "case 7"}, headers=investigator.headers)
    assert (response.status_code, response.json()["reason"]) == (200, "case 7")


async def test_another_departments_person_is_404(db: Database, client: httpx.AsyncClient) -> None:
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    person_id = await _enrolled(client, investigator)
    stranger = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    assert (
        await client.get(f"{BASE}/persons/{person_id}", headers=stranger.headers)
    ).status_code == 404
    listed = await client.get(f"{BASE}/persons", headers=stranger.headers)
    assert listed.json()["items"] == []
    mine = await client.get(f"{BASE}/persons", headers=investigator.headers)
    assert [p["id"] for p in mine.json()["items"]] == [person_id]


async def test_switch_needs_a_department_admin_and_defaults_off(
    db: Database, client: httpx.AsyncClient
) -> None:
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    policy = await client.get(f"{BASE}/policy/{PUBLIC_SECURITY}", headers=investigator.headers)
    assert policy.json()["enabled"] is False
    assert (await _switch(client, investigator, enabled=True)).status_code == 403
    switched = await _switch(client, admin, enabled=True)
    assert (switched.status_code, switched.json()["enabled"]) == (200, True)
    assert switched.json()["changed_by"] == str(admin.user.id)


async def test_loader_honours_switch_expiry_and_removal(
    db: Database, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    person_id = await _enrolled(client, investigator)
    loader = watchlist_from_db("faces")
    assert loader is not None
    async with db.transaction() as session:
        assert await loader(session, [PUBLIC_SECURITY]) is None  # off by default
    await _switch(client, admin, enabled=True)
    (tmp_path / "obama2.jpg").write_bytes(photo("obama2.jpg"))
    async with db.transaction() as session:
        watchlist = await loader(session, [PUBLIC_SECURITY])
        assert await loader(session, [TRAFFIC_POLICE]) is None
    assert watchlist is not None and len(watchlist) == 1
    (finding,) = build(FacesConfig(), watchlist=watchlist).analyze(
        MediaSource(tmp_path / "obama2.jpg")
    )
    assert finding.attributes["watchlist"]["entry_id"] == person_id
    assert finding.alert == ALERT
    async with db.transaction() as session:
        person = await session.get(FaceWatchPerson, uuid.UUID(person_id))
        assert person is not None
        person.expires_at = utcnow() - timedelta(seconds=1)
    async with db.transaction() as session:
        expired = await loader(session, [PUBLIC_SECURITY])
    assert expired is not None and len(expired) == 0
    await _switch(client, admin, enabled=False)
    async with db.transaction() as session:
        assert await loader(session, [PUBLIC_SECURITY]) is None


async def test_removal_deletes_embeddings(db: Database, client: httpx.AsyncClient) -> None:
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    person_id = await _enrolled(client, investigator)
    gone = await client.delete(f"{BASE}/persons/{person_id}", headers=investigator.headers)
    assert gone.status_code == 204
    again = await client.delete(f"{BASE}/persons/{person_id}", headers=investigator.headers)
    assert (again.status_code, again.json()["error"]) == (409, "person_removed")
    read = await client.get(f"{BASE}/persons/{person_id}", headers=investigator.headers)
    assert (read.json()["active"], read.json()["photos"]) == (False, [])
    listed = await client.get(f"{BASE}/persons", headers=investigator.headers)
    assert listed.json()["items"] == []
