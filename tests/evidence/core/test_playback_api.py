"""GET /evidence/{id}/content: ranges decrypted on the fly, play vs download, reasons, audit."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from sqlalchemy import update

from citywitness.access.levels import Role
from citywitness.agencies.models import Department
from citywitness.evidence.errors import MalformedRange, RangeNotSatisfiable
from citywitness.evidence.models import EvidenceItem, EvidenceState
from citywitness.evidence.playback import parse_range
from citywitness.kit.db import Database
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import CHUNK, audit_events, register
from tests.evidence.core.samples import make_mp4
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor

OFFICER = {PUBLIC_SECURITY: [Role.OFFICER]}  # evidence:play, not evidence:download
INVESTIGATOR = {PUBLIC_SECURITY: [Role.INVESTIGATOR]}


@pytest.fixture
async def video(db: Database, store: ContentStore) -> tuple[EvidenceItem, bytes]:
    """A 2 s video of PUBLIC_SECURITY, whose policy is changed to need no reason."""
    await _require_reason(db, required=False)
    data = make_mp4(2.0)
    assert len(data) > 4 * CHUNK
    item = (await register(db, store, data, filename="VID 执法.mp4")).item
    return item, data


async def _require_reason(db: Database, *, required: bool) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Department)
            .where(Department.id == PUBLIC_SECURITY)
            .values(reason_required_for_playback=required)
        )


def _url(item: EvidenceItem) -> str:
    return f"/api/v1/evidence/{item.id}/content"


async def test_whole_content_without_a_range(
    db: Database, client: httpx.AsyncClient, video: tuple[EvidenceItem, bytes]
) -> None:
    item, data = video
    actor = await make_actor(db, roles=OFFICER)
    response = await client.get(_url(item), headers=actor.headers)
    assert response.status_code == 200, response.text
    assert response.content == data
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert response.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["etag"] == f'"{item.sha256}"'
    assert response.headers["content-disposition"] == (
        "inline; filename=\"VID __.mp4\"; filename*=UTF-8''VID%20%E6%89%A7%E6%B3%95.mp4"
    )
    [event] = await audit_events(db, "evidence.play")
    assert event.details == {"range": None, "bytes": len(data)}
    assert event.object_id == str(item.id)


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes=100-9999", (100, 10_000)),
        (f"bytes={CHUNK - 1}-{CHUNK}", (CHUNK - 1, CHUNK + 1)),
        ("bytes=-50", (-50, None)),
        ("bytes=0-0", (0, 1)),
        ("bytes=1000-", (1000, None)),
        ("bytes=5-100000000", (5, None)),
    ],
)
async def test_ranges_are_decrypted_on_the_fly(
    db: Database,
    client: httpx.AsyncClient,
    video: tuple[EvidenceItem, bytes],
    header: str,
    span: tuple[int, int | None],
) -> None:
    item, data = video
    actor = await make_actor(db, roles=OFFICER)
    response = await client.get(_url(item), headers={**actor.headers, "Range": header})
    assert response.status_code == 206
    expected = data[span[0] : span[1]]
    assert response.content == expected
    first = span[0] if span[0] >= 0 else len(data) + span[0]
    assert response.headers["content-range"] == (
        f"bytes {first}-{first + len(expected) - 1}/{len(data)}"
    )
    [event] = await audit_events(db, "evidence.play")
    assert event.details == {
        "range": f"{first}-{first + len(expected) - 1}",
        "bytes": len(expected),
    }


async def test_bad_ranges(
    db: Database, client: httpx.AsyncClient, video: tuple[EvidenceItem, bytes]
) -> None:
    item, data = video
    actor = await make_actor(db, roles=OFFICER)
    beyond = await client.get(_url(item), headers={**actor.headers, "Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.json()["error"] == "range_not_satisfiable"
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"
    for header in ("bytes=1-2,5-6", "items=0-1", "bytes=-", "bytes=9-3"):
        response = await client.get(_url(item), headers={**actor.headers, "Range": header})
        assert (response.status_code, response.json()["error"]) == (400, "malformed_range")
    assert await audit_events(db, "evidence.play") == []


def test_open_ended_ranges_are_capped() -> None:
    assert parse_range("bytes=10-", 1000, 100) == (10, 110)
    assert parse_range("bytes=-2000", 1000, 100) == (0, 1000)
    assert parse_range(None, 1000, 100) is None
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-0", 1000, 100)
    with pytest.raises(MalformedRange):
        parse_range("bytes=abc", 1000, 100)


async def test_download_needs_evidence_download(
    db: Database, client: httpx.AsyncClient, video: tuple[EvidenceItem, bytes]
) -> None:
    item, data = video
    officer = await make_actor(db, roles=OFFICER)
    investigator = await make_actor(db, roles=INVESTIGATOR)
    params = {"disposition": "attachment"}
    refused = await client.get(_url(item), params=params, headers=officer.headers)
    assert (refused.status_code, refused.json()["error"]) == (403, "permission_denied")
    allowed = await client.get(_url(item), params=params, headers=investigator.headers)
    assert allowed.status_code == 200
    assert allowed.content == data
    assert allowed.headers["content-disposition"].startswith("attachment;")
    [event] = await audit_events(db, "evidence.download")
    assert event.actor_user_id == investigator.user.id


async def test_a_reason_where_the_department_requires_one(
    db: Database, client: httpx.AsyncClient, video: tuple[EvidenceItem, bytes]
) -> None:
    item, _ = video
    await _require_reason(db, required=True)
    actor = await make_actor(db, roles=OFFICER)
    missing = await client.get(_url(item), headers=actor.headers)
    assert (missing.status_code, missing.json()["error"]) == (422, "reason_required")
    blank = await client.get(_url(item), params={"reason": "  "}, headers=actor.headers)
    assert blank.status_code == 422
    control = await client.get(_url(item), params={"reason": "a\x00b"}, headers=actor.headers)
    assert (control.status_code, control.json()["error"]) == (422, "validation_failed")
    given = await client.get(
        _url(item), params={"reason": "case 2026-117 review"}, headers=actor.headers
    )
    assert given.status_code == 200
    [event] = await audit_events(db, "evidence.play")
    assert event.reason == "case 2026-117 review"


async def test_out_of_scope_and_destroyed(
    db: Database, client: httpx.AsyncClient, video: tuple[EvidenceItem, bytes]
) -> None:
    item, _ = video
    other = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    response = await client.get(_url(item), headers=other.headers)
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
    async with db.transaction() as session:
        await session.execute(
            update(EvidenceItem)
            .where(EvidenceItem.id == item.id)
            .values(state=EvidenceState.DESTROYED)
        )
    actor = await make_actor(db, roles=OFFICER)
    gone = await client.get(_url(item), headers=actor.headers)
    assert (gone.status_code, gone.json()["error"]) == (410, "evidence_destroyed")
