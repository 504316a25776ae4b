"""A live session end to end: open, segments chained in, the item grows, seals and plays."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from citywitness.access.levels import Role
from citywitness.audit.models import AuditEvent
from citywitness.devices.models import RecorderBinding
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.ledger.models import LedgerEntry
from citywitness.media import chain
from citywitness.media.models import LiveSession, SessionState
from tests.devices.helpers import make_enrolled, make_officer
from tests.factories import PUBLIC_SECURITY, make_actor
from tests.media.helpers import SESSIONS, Pieces, open_session, send_all, sha


async def _item(db: Database, evidence_id: str) -> EvidenceItem:
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, uuid.UUID(evidence_id))
        assert item is not None
        return item


async def _leaves(db: Database, evidence_id: str, kind: str) -> list[dict[str, object]]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(LedgerEntry.leaf)
            .where(LedgerEntry.object_id == evidence_id, LedgerEntry.kind == kind)
            .order_by(LedgerEntry.id)
        )
        return [json.loads(leaf) for leaf in rows]


@pytest.mark.parametrize("fmt", ["fmp4", "ts"])
async def test_session_grows_seals_and_plays(
    fmt: str, db: Database, client: httpx.AsyncClient, request: pytest.FixtureRequest
) -> None:
    pieces: Pieces = request.getfixturevalue(fmt)
    device = await make_enrolled(db)
    officer = await make_officer(db)
    async with db.transaction() as session:
        session.add(
            RecorderBinding(
                recorder_id=device.identity.device_id, officer_id=officer, started_at=utcnow()
            )
        )
    opened = await open_session(client, device, pieces)
    init_sha = sha(pieces.init) if pieces.init else None
    assert opened["genesis"] == chain.genesis(uuid.UUID(opened["id"]), init_sha)
    assert opened["officer_id"] == str(officer)
    assert opened["state"] == "live"
    item = await _item(db, opened["evidence_id"])
    assert (item.state, item.ingest_channel, item.officer_id) == ("live", "live", officer)
    assert item.recorder_serial == device.identity.serial
    assert item.department_id == PUBLIC_SECURITY

    answers = await send_all(client, device, opened, pieces)
    assert [a.status_code for a in answers] == [201] * len(pieces.segments)
    assert [a.json()["chain_verified"] for a in answers] == [True] * len(pieces.segments)
    assert [a.json()["duration_seconds"] for a in answers] == [2.0, 2.0, 2.0, 1.0]
    item = await _item(db, opened["evidence_id"])
    init_size = len(pieces.init or b"")
    assert item.state == "live"
    assert item.size_bytes == init_size + sum(len(s) for s in pieces.segments)
    assert item.duration_seconds == 7.0
    viewer = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    too_early = await client.get(
        f"/api/v1/evidence/{item.id}/content", params={"reason": "review"}, headers=viewer.headers
    )
    assert (too_early.status_code, too_early.json()["error"]) == (409, "evidence_live")

    ended = await client.post(f"{SESSIONS}/{opened['id']}/end", headers=device.headers)
    assert ended.status_code == 200, ended.text
    content = (pieces.init or b"") + b"".join(pieces.segments)
    assert ended.json()["state"] == "sealed"
    assert ended.json()["final_sha256"] == sha(content)
    item = await _item(db, opened["evidence_id"])
    assert (item.state, item.sha256, item.size_bytes) == ("active", sha(content), len(content))
    assert item.video_codec == "h264"
    assert item.media_facts["segments"] == 4
    assert item.media_facts["missing_segments"] == []

    played = await client.get(
        f"/api/v1/evidence/{item.id}/content", params={"reason": "review"}, headers=viewer.headers
    )
    assert played.status_code == 200, played.text
    assert played.content == content

    segments = await _leaves(db, opened["evidence_id"], "media.segment_ingested")
    prevs = [opened["genesis"], *(sha(s) for s in pieces.segments[:-1])]
    assert [leaf["details"] for leaf in segments] == [
        {
            "session_id": opened["id"],
            "seq": seq,
            "sha256": sha(data),
            "prev_sha256": prevs[seq],
            "size_bytes": len(data),
            "late": False,
        }
        for seq, data in enumerate(pieces.segments)
    ]
    assert segments[0]["actor"] == {"kind": "device", "id": str(device.identity.device_id)}
    ingested = await _leaves(db, opened["evidence_id"], "evidence.ingested")
    assert [leaf["details"] for leaf in ingested] == [
        {
            "sha256": sha(content),
            "size_bytes": len(content),
            "kind": "video",
            "channel": "live",
            "classification": "internal",
            "session_id": opened["id"],
            "segments": 4,
            "missing_segments": 0,
            "end_reason": "device",
        }
    ]


async def test_open_is_idempotent_with_a_device_chosen_id(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device = await make_enrolled(db)
    chosen = str(uuid.uuid4())
    first = await open_session(client, device, ts, id=chosen)
    again = await client.post(SESSIONS, json={"format": "ts", "id": chosen}, headers=device.headers)
    assert again.status_code == 200
    assert again.json()["evidence_id"] == first["evidence_id"]
    other = await client.post(
        SESSIONS, json={"format": "fmp4", "id": chosen, "init_segment": ""}, headers=device.headers
    )
    assert other.status_code == 422  # an fMP4 session needs its init segment
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(LiveSession))
    assert count is not None and count >= 1


async def test_end_twice_is_idempotent_and_refuses_later_segments(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device = await make_enrolled(db)
    opened = await open_session(client, device, ts)
    await send_all(client, device, opened, Pieces(ts.fmt, None, ts.segments[:2]))
    url = f"{SESSIONS}/{opened['id']}/end"
    first = await client.post(url, headers=device.headers)
    second = await client.post(url, headers=device.headers)
    assert first.json() == second.json()
    late = await client.put(
        f"{SESSIONS}/{opened['id']}/segments/2",
        content=ts.segments[2],
        headers={
            **device.headers,
            "CW-Segment-SHA256": sha(ts.segments[2]),
            "CW-Prev-SHA256": sha(ts.segments[1]),
        },
    )
    assert (late.status_code, late.json()["error"]) == (409, "session_ended")
    retry = await client.put(
        f"{SESSIONS}/{opened['id']}/segments/1",
        content=ts.segments[1],
        headers={
            **device.headers,
            "CW-Segment-SHA256": sha(ts.segments[1]),
            "CW-Prev-SHA256": sha(ts.segments[0]),
        },
    )
    assert (retry.status_code, retry.json()["duplicate"]) == (200, True)


async def test_another_recorders_session_does_not_exist(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    owner, intruder = await make_enrolled(db), await make_enrolled(db)
    opened = await open_session(client, owner, ts)
    for method, path in (
        ("GET", f"{SESSIONS}/{opened['id']}"),
        ("POST", f"{SESSIONS}/{opened['id']}/end"),
    ):
        answer = await client.request(method, path, headers=intruder.headers)
        assert (answer.status_code, answer.json()["error"]) == (404, "session_not_found")
    put = await client.put(
        f"{SESSIONS}/{opened['id']}/segments/0",
        content=ts.segments[0],
        headers={
            **intruder.headers,
            "CW-Segment-SHA256": sha(ts.segments[0]),
            "CW-Prev-SHA256": opened["genesis"],
        },
    )
    assert put.status_code == 404
    async with db.transaction() as session:
        live = await session.get(LiveSession, uuid.UUID(opened["id"]))
        assert live is not None and live.segments == 0 and live.state == SessionState.LIVE
        opens = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "media.session_open", AuditEvent.actor_kind == "device")
        )
        assert opens is not None and opens >= 1
