"""The bridge's batch store without MQTT: one batch of mixed messages, what becomes of
each, the hot state written and pushed (NOTIFY) once per recorder, and the `online`
events of recorders that came online.  Real PostgreSQL (committed, a database of its own)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import select

from citywitness.devices.models import DeviceEvent, DeviceStateRow
from citywitness.devices.mqtt_store import MessageStore, Received
from citywitness.devices.state import NOTIFY_CHANNEL
from citywitness.kit.db import Database, libpq_url
from tests.devices.test_mqtt_support import Device, make_device, position_count, status, telemetry

pytestmark = pytest.mark.slow


@pytest.fixture
async def database(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=4, max_overflow=2)
    yield db
    await db.dispose()


def _item(device: Device, kind: str, payload: bytes, n: int, at: datetime) -> Received:
    return Received(device.topic(kind), payload, mid=n, qos=1, generation=1, received_at=at)


def _old(msg_id: str, at: datetime) -> bytes:
    position = {"lat": 1.0, "lon": 2.0, "fix": "gps", "at": (at - timedelta(days=30)).isoformat()}
    return json.dumps({"msg_id": msg_id, "positions": [position]}).encode()


async def _states(database: Database, *devices: Device) -> list[tuple[bool, float | None]]:
    async with database.transaction() as session:
        rows = {
            row.recorder_id: (row.online, row.lat)
            for row in (await session.execute(select(DeviceStateRow))).scalars()
        }
    return [rows[d.identity.device_id] for d in devices]


async def test_a_mixed_batch_is_stored_deduplicated_and_pushed_once_per_recorder(
    database: Database, fresh_database_url: str
) -> None:
    one, two = await make_device(database), await make_device(database)
    now = datetime.now(UTC)
    batch = [
        _item(one, "telemetry", telemetry("a", lat=10.0), 1, now),
        _item(one, "telemetry", telemetry("a", lat=10.0), 2, now),  # the same, redelivered
        _item(one, "telemetry", telemetry("b", lat=11.0), 3, now + timedelta(milliseconds=5)),
        _item(two, "telemetry", b"{not json", 4, now),
        _item(two, "telemetry", _old("c", now), 5, now),  # outside the backfill window
        _item(two, "status", status("online", "s1"), 6, now),
        _item(two, "event", b'{"msg_id": "e1", "kind": "nonsense"}', 7, now),  # refused
        Received("cw/public-security/NOBODY/telemetry", telemetry(), 8, 1, 1, now),
        Received("elsewhere/x", b"{}", 9, 1, 1, now),
    ]
    store = MessageStore(database)
    async with await psycopg.AsyncConnection.connect(
        libpq_url(fresh_database_url), autocommit=True
    ) as listener:
        await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        await store.store(batch)
        await store.store(batch[:1])  # a later redelivery: a duplicate, a heartbeat only
        pushed = []
        async for note in listener.notifies(timeout=1.0):
            pushed.append(json.loads(note.payload)["serial"])
    assert dict(store.counts) == {
        "stored": 3,
        "duplicate": 2,
        "rejected": 3,
        "unknown_device": 1,
        "ignored": 1,
    }
    assert await position_count(database, one) == 4
    assert await position_count(database, two) == 0
    # the newest position of `one` (message b), each recorder written and pushed once
    assert await _states(database, one, two) == [(True, 11.001), (True, None)]
    assert sorted(pushed) == sorted([one.serial, two.serial])
    async with database.transaction() as session:
        events = (await session.execute(select(DeviceEvent.recorder_id, DeviceEvent.kind))).all()
    assert sorted((str(r), k) for r, k in events) == sorted(
        [(str(one.identity.device_id), "online"), (str(two.identity.device_id), "online")]
    )
