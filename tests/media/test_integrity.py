"""Refusals and reports: forged links, altered bytes, conflicts, gaps, reordering, limits."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from citywitness.access.levels import Role
from citywitness.kit.db import Database
from citywitness.media.models import LiveSession, Segment
from tests.devices.helpers import Enrolled, make_enrolled
from tests.factories import PUBLIC_SECURITY, make_actor
from tests.media.conftest import MAX_SEGMENT_BYTES
from tests.media.helpers import SESSIONS, Pieces, open_session, put_segment, sha


async def _reports(
    db: Database, client: httpx.AsyncClient, session_id: str
) -> list[dict[str, Any]]:
    reader = await make_actor(db, roles={PUBLIC_SECURITY: [Role.AUDITOR]})
    answer = await client.get(
        f"/api/v1/media/sessions/{session_id}/reports", headers=reader.headers
    )
    assert answer.status_code == 200, answer.text
    return [
        {"kind": r["kind"], "seq": r["seq"], "details": r["details"]}
        for r in answer.json()["items"]
    ]


async def _stored(db: Database, session_id: str) -> list[int]:
    async with db.transaction() as session:
        found = await session.scalars(
            select(Segment.seq)
            .where(Segment.session_id == uuid.UUID(session_id))
            .order_by(Segment.seq)
        )
        return list(found)


async def _started(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> tuple[Enrolled, dict[str, Any]]:
    device = await make_enrolled(db)
    return device, await open_session(client, device, ts)


async def test_forged_link_is_refused_and_reported(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device, opened = await _started(db, client, ts)
    zero = await put_segment(client, device, opened["id"], 0, ts.segments[0], opened["genesis"])
    assert zero.status_code == 201
    forged_prev = "ab" * 32
    answer = await put_segment(client, device, opened["id"], 1, ts.segments[1], forged_prev)
    assert (answer.status_code, answer.json()["error"]) == (409, "segment_chain_broken")
    bad_genesis = await put_segment(client, device, opened["id"], 0, ts.segments[1], "cd" * 32)
    assert bad_genesis.status_code == 409  # seq 0 taken by other bytes: a conflict
    assert await _stored(db, opened["id"]) == [0]
    assert await _reports(db, client, opened["id"]) == [
        {
            "kind": "chain_broken",
            "seq": 1,
            "details": {
                "error": "segment_chain_broken",
                "seq": 1,
                "prev_sha256": forged_prev,
                "expected": sha(ts.segments[0]),
            },
        },
        {
            "kind": "conflict",
            "seq": 0,
            "details": {
                "error": "segment_conflict",
                "seq": 0,
                "stored_sha256": sha(ts.segments[0]),
            },
        },
    ]


async def test_wrong_genesis_is_refused(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device, opened = await _started(db, client, ts)
    answer = await put_segment(client, device, opened["id"], 0, ts.segments[0], "00" * 32)
    assert (answer.status_code, answer.json()["error"]) == (409, "segment_chain_broken")
    assert answer.json()["fields"]["expected"] == opened["genesis"]
    assert await _stored(db, opened["id"]) == []


async def test_altered_bytes_are_refused_and_reported(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device, opened = await _started(db, client, ts)
    original = ts.segments[0]
    altered = original[:1000] + bytes([original[1000] ^ 0xFF]) + original[1001:]
    answer = await put_segment(
        client, device, opened["id"], 0, altered, opened["genesis"], declared=sha(original)
    )
    assert (answer.status_code, answer.json()["error"]) == (422, "segment_digest_mismatch")
    assert await _stored(db, opened["id"]) == []
    assert await _reports(db, client, opened["id"]) == [
        {
            "kind": "digest_mismatch",
            "seq": 0,
            "details": {
                "error": "segment_digest_mismatch",
                "declared": sha(original),
                "actual": sha(altered),
            },
        }
    ]


async def test_duplicate_is_idempotent(db: Database, client: httpx.AsyncClient, ts: Pieces) -> None:
    device, opened = await _started(db, client, ts)
    first = await put_segment(client, device, opened["id"], 0, ts.segments[0], opened["genesis"])
    again = await put_segment(client, device, opened["id"], 0, ts.segments[0], opened["genesis"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    async with db.transaction() as session:
        live = await session.get(LiveSession, uuid.UUID(opened["id"]))
        assert live is not None
        assert (live.segments, live.bytes) == (1, len(ts.segments[0]))
    assert await _reports(db, client, opened["id"]) == []


async def test_gap_is_flagged_and_a_late_segment_fills_it(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device, opened = await _started(db, client, ts)
    s = ts.segments
    await put_segment(client, device, opened["id"], 0, s[0], opened["genesis"])
    jumped = await put_segment(client, device, opened["id"], 2, s[2], sha(s[1]))
    assert jumped.status_code == 201
    assert (jumped.json()["gap"], jumped.json()["chain_verified"]) == ([1, 1], False)
    late = await put_segment(client, device, opened["id"], 1, s[1], sha(s[0]))
    assert late.status_code == 201
    assert (late.json()["late"], late.json()["chain_verified"]) == (True, True)
    assert await _stored(db, opened["id"]) == [0, 1, 2]
    async with db.transaction() as session:
        live = await session.get(LiveSession, uuid.UUID(opened["id"]))
        assert live is not None and (live.contiguous_seq, live.max_seq) == (2, 2)
    assert await _reports(db, client, opened["id"]) == [
        {"kind": "gap", "seq": 2, "details": {"missing_from": 1, "missing_to": 1}},
        {"kind": "late", "seq": 1, "details": {"max_seq": 2}},
    ]


async def test_late_segment_that_does_not_fit_the_next_one_is_refused(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device, opened = await _started(db, client, ts)
    s = ts.segments
    await put_segment(client, device, opened["id"], 0, s[0], opened["genesis"])
    await put_segment(client, device, opened["id"], 2, s[2], sha(s[1]))
    impostor = await put_segment(client, device, opened["id"], 1, s[3], sha(s[0]))
    assert (impostor.status_code, impostor.json()["error"]) == (409, "segment_chain_broken")
    assert impostor.json()["fields"]["next_seq_names_prev"] == sha(s[1])


async def test_unfilled_gap_is_reported_at_seal(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device, opened = await _started(db, client, ts)
    s = ts.segments
    await put_segment(client, device, opened["id"], 0, s[0], opened["genesis"])
    await put_segment(client, device, opened["id"], 2, s[2], sha(s[1]))
    ended = await client.post(f"{SESSIONS}/{opened['id']}/end", headers=device.headers)
    assert ended.json()["state"] == "sealed"
    assert ended.json()["final_sha256"] == sha(s[0] + s[2])
    reports = await _reports(db, client, opened["id"])
    assert reports[-1] == {
        "kind": "unfilled_gap",
        "seq": None,
        "details": {"missing": [1], "count": 1},
    }


async def test_oversized_segment_gets_413(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device, opened = await _started(db, client, ts)
    big = ts.segments[0] * (MAX_SEGMENT_BYTES // len(ts.segments[0]) + 1)
    answer = await put_segment(client, device, opened["id"], 0, big, opened["genesis"])
    assert (answer.status_code, answer.json()["error"]) == (413, "segment_too_large")
    assert await _stored(db, opened["id"]) == []


async def test_not_media_gets_415_and_a_report(
    db: Database, client: httpx.AsyncClient, ts: Pieces, fmp4: Pieces
) -> None:
    device, opened = await _started(db, client, ts)
    for data in (b"hello, I am not a video\n" * 100, fmp4.segments[0]):  # text; other format
        answer = await put_segment(client, device, opened["id"], 0, data, opened["genesis"])
        assert (answer.status_code, answer.json()["error"]) == (415, "segment_not_media")
    assert [r["kind"] for r in await _reports(db, client, opened["id"])] == ["not_media"] * 2


async def test_bad_headers_get_400(db: Database, client: httpx.AsyncClient, ts: Pieces) -> None:
    device, opened = await _started(db, client, ts)
    answer = await client.put(
        f"{SESSIONS}/{opened['id']}/segments/0",
        content=ts.segments[0],
        headers={**device.headers, "CW-Segment-SHA256": "xyz"},
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_segment_header")
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(Segment))
    assert count == 0
