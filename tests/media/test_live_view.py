"""Live HLS view: the playlist's exact text, view tokens, one audit event per viewer, scope."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

from citywitness.access.levels import Role
from citywitness.audit.models import AuditEvent
from citywitness.kit.db import Database
from citywitness.media.models import SegmentFormat
from citywitness.media.playlist import Listed, render
from tests.devices.helpers import make_enrolled
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor
from tests.media.helpers import SESSIONS, Pieces, open_session, put_segment, send_all, sha

MEDIA = "/api/v1/media/sessions"


def test_event_playlist_for_fmp4_exactly() -> None:
    text = render(
        fmt=SegmentFormat.FMP4,
        target_duration=2,
        segments=[Listed(0, 2.0), Listed(2, 2.002), Listed(3, 1.0)],
        max_seq=3,
        ended=False,
        token="T.k",
    )
    assert text == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:7\n"
        "#EXT-X-TARGETDURATION:3\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PLAYLIST-TYPE:EVENT\n"
        '#EXT-X-MAP:URI="init.mp4?vt=T.k"\n'
        "#EXTINF:2.000,\n"
        "segments/0.m4s?vt=T.k\n"
        "#EXT-X-GAP\n"
        "#EXTINF:3.000,\n"
        "segments/1.m4s?vt=T.k\n"
        "#EXTINF:2.002,\n"
        "segments/2.m4s?vt=T.k\n"
        "#EXTINF:1.000,\n"
        "segments/3.m4s?vt=T.k\n"
    )


def test_sliding_window_for_ts_with_endlist_exactly() -> None:
    text = render(
        fmt=SegmentFormat.TS,
        target_duration=2,
        segments=[Listed(seq, 2.0) for seq in range(5)],
        max_seq=4,
        ended=True,
        token="t",
        window=2,
    )
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:3\n"
        "#EXTINF:2.000,\nsegments/3.ts?vt=t\n#EXTINF:2.000,\nsegments/4.ts?vt=t\n"
        "#EXT-X-ENDLIST\n"
    )


def test_empty_session_playlist_has_no_segments() -> None:
    text = render(
        fmt=SegmentFormat.TS, target_duration=2, segments=[], max_seq=-1, ended=False, token="t"
    )
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PLAYLIST-TYPE:EVENT\n"
    )


async def _views(db: Database) -> int:
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "media.live_view")
        )
    return int(count or 0)


async def test_live_view_plays_and_audits_each_viewer_once(
    db: Database, client: httpx.AsyncClient, fmp4: Pieces
) -> None:
    device = await make_enrolled(db)
    opened = await open_session(client, device, fmp4)
    await send_all(client, device, opened, Pieces(fmp4.fmt, fmp4.init, fmp4.segments[:2]))
    operator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    before = await _views(db)
    url = f"{MEDIA}/{opened['id']}/live.m3u8"
    first = await client.get(url, headers=operator.headers)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/vnd.apple.mpegurl"
    lines = first.text.splitlines()
    assert lines[:6] == [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:EVENT",
        lines[5],
    ]
    assert lines[5].startswith('#EXT-X-MAP:URI="init.mp4?vt=')
    assert lines[6:] == [
        "#EXTINF:2.000,",
        lines[7],
        "#EXTINF:2.000,",
        lines[9],
    ]
    token = parse_qs(urlsplit(lines[7]).query)["vt"][0]
    assert lines[7] == f"segments/0.m4s?vt={token}"
    # The player fetches with the token alone (no credentials).
    base = f"{MEDIA}/{opened['id']}/"
    init = await client.get(base + "init.mp4", params={"vt": token})
    zero = await client.get(base + "segments/0.m4s", params={"vt": token})
    assert (init.status_code, init.content) == (200, fmp4.init)
    assert (zero.status_code, zero.content) == (200, fmp4.segments[0])
    missing = await client.get(base + "segments/7.m4s", params={"vt": token})
    assert (missing.status_code, missing.json()["error"]) == (404, "segment_not_found")
    again = await client.get(url, headers=operator.headers)
    by_token = await client.get(url, params={"vt": token})
    assert (again.status_code, by_token.status_code) == (200, 200)
    assert await _views(db) == before + 1
    other_viewer = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    assert (await client.get(url, headers=other_viewer.headers)).status_code == 200
    assert await _views(db) == before + 2


async def test_bad_or_foreign_token_without_credentials_is_401(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device = await make_enrolled(db)
    first, second = await open_session(client, device, ts), await open_session(client, device, ts)
    await put_segment(client, device, first["id"], 0, ts.segments[0], first["genesis"])
    operator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    listing = await client.get(f"{MEDIA}/{first['id']}/live.m3u8", headers=operator.headers)
    token = parse_qs(urlsplit(listing.text.splitlines()[-1]).query)["vt"][0]
    for session_id, value in (
        (second["id"], token),
        (first["id"], token[:-2] + "xx"),
        (first["id"], "x"),
    ):
        answer = await client.get(f"{MEDIA}/{session_id}/segments/0.ts", params={"vt": value})
        assert (answer.status_code, answer.json()["error"]) == (401, "view_token_invalid")
    assert sha(ts.segments[0])  # the first session's segment stays reachable with its token
    ok = await client.get(f"{MEDIA}/{first['id']}/segments/0.ts", params={"vt": token})
    assert ok.content == ts.segments[0]


async def test_other_department_and_no_permission_get_404(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device = await make_enrolled(db)
    opened = await open_session(client, device, ts)
    url = f"{MEDIA}/{opened['id']}/live.m3u8"
    traffic = await make_actor(db, roles={TRAFFIC_POLICE: [Role.OPERATOR]})
    officer = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    before = await _views(db)
    for caller in (traffic, officer):
        answer = await client.get(url, headers=caller.headers)
        assert (answer.status_code, answer.json()["error"]) == (404, "not_found")
    assert await _views(db) == before
    assert (await client.get(url)).status_code == 401


async def test_session_list_and_read_for_consoles(
    db: Database, client: httpx.AsyncClient, ts: Pieces
) -> None:
    device = await make_enrolled(db)
    opened = await open_session(client, device, ts)
    reader = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    listed = await client.get(
        MEDIA,
        params={"state": "live", "recorder_id": str(device.identity.device_id)},
        headers=reader.headers,
    )
    assert [s["id"] for s in listed.json()["items"]] == [opened["id"]]
    traffic = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    hidden = await client.get(
        MEDIA, params={"recorder_id": str(device.identity.device_id)}, headers=traffic.headers
    )
    assert hidden.json()["items"] == []
    one = await client.get(f"{MEDIA}/{opened['id']}", headers=reader.headers)
    assert one.json()["genesis"] == opened["genesis"]
    assert (
        await client.get(f"{SESSIONS}/{opened['id']}", headers=device.headers)
    ).json() == one.json()
