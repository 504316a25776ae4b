"""A sealed live session's item carries where it was recorded: the recorder's positions
during the session, as a GeoJSON track with its bounding box (place search, console map)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx

from citywitness.devices.models import DevicePosition
from citywitness.devices.partitions import day_of, ensure_partitions
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.media.track import thinned
from tests.devices.helpers import make_enrolled
from tests.media.helpers import SESSIONS, Pieces, open_session, send_all


async def _positions(
    db: Database, recorder_id: uuid.UUID, fixes: list[tuple[datetime, float, float]]
) -> None:
    async with db.transaction() as session:
        await ensure_partitions(session, {day_of(at) for at, _, _ in fixes})
        for i, (at, lat, lon) in enumerate(fixes):
            session.add(
                DevicePosition(
                    recorder_id=recorder_id, at=at, msg_id=f"m{i}", seq=0, lat=lat, lon=lon,
                    fix="gps", received_at=at,
                )
            )  # fmt: skip


async def test_the_sealed_item_carries_the_recorders_positions_during_the_session(
    db: Database, client: httpx.AsyncClient, fmp4: Pieces
) -> None:
    device = await make_enrolled(db)
    started = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    await _positions(
        db,
        device.identity.device_id,
        [
            (started - timedelta(seconds=5), 10.0, 20.0),  # before the session
            (started + timedelta(seconds=1), 31.2304, 121.4737),
            (started + timedelta(seconds=4), 31.2310, 121.4750),
            (started + timedelta(seconds=6), 31.2301, 121.4760),
            (started + timedelta(seconds=30), 11.0, 21.0),  # after it (7 s long)
        ],
    )
    opened = await open_session(client, device, fmp4, started_at=started.isoformat())
    await send_all(client, device, opened, fmp4)
    ended = await client.post(f"{SESSIONS}/{opened['id']}/end", headers=device.headers)
    assert ended.json()["state"] == "sealed", ended.text
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, uuid.UUID(opened["evidence_id"]))
        assert item is not None
        assert item.gps_track == {
            "type": "LineString",
            "coordinates": [[121.4737, 31.2304], [121.475, 31.231], [121.476, 31.2301]],
        }
        assert (item.min_lat, item.max_lat, item.min_lon, item.max_lon) == (
            31.2301, 31.231, 121.4737, 121.476,
        )  # fmt: skip


async def test_a_session_without_positions_has_no_track(
    db: Database, client: httpx.AsyncClient, fmp4: Pieces
) -> None:
    device = await make_enrolled(db)
    opened = await open_session(client, device, fmp4)
    await send_all(client, device, opened, fmp4)
    ended = await client.post(f"{SESSIONS}/{opened['id']}/end", headers=device.headers)
    assert ended.json()["state"] == "sealed", ended.text
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, uuid.UUID(opened["evidence_id"]))
        assert item is not None
        assert (item.gps_track, item.min_lat) == (None, None)


def test_long_tracks_are_thinned_evenly_keeping_both_ends() -> None:
    points = [[float(i), 0.0] for i in range(10)]
    assert thinned(points, 4) == [[0.0, 0.0], [3.0, 0.0], [6.0, 0.0], [9.0, 0.0]]
    assert thinned(points, 10) == points
