"""accept_message and the HTTPS endpoints: storage, dedup, time window, state, events."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, text

from citywitness.devices.errors import InvalidDeviceMessage
from citywitness.devices.messages import parse_message
from citywitness.devices.models import (
    DeviceEvent,
    DeviceMessageSeen,
    DevicePosition,
    DeviceStateRow,
)
from citywitness.devices.partitions import partition_name
from citywitness.devices.telemetry import TelemetryLimits, accept_message
from citywitness.kit.db import Database
from tests.devices.helpers import (
    make_enrolled,
    make_officer,
    now,
    payload,
    position,
    telemetry_body,
)
from tests.factories import Actor

LIMITS = TelemetryLimits()


async def _positions(db: Database, recorder_id: object) -> list[tuple[str, int, float]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(DevicePosition.msg_id, DevicePosition.seq, DevicePosition.lat)
            .where(DevicePosition.recorder_id == recorder_id)
            .order_by(DevicePosition.at, DevicePosition.seq)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_telemetry_stored_once_per_msg_id(db: Database) -> None:
    device = await make_enrolled(db)
    body = telemetry_body("m-1", count=3, battery_pct=77, signal_dbm=-90)
    received = now()
    async with db.transaction() as session:
        first = await accept_message(
            session,
            device.identity,
            "telemetry",
            payload(body),
            transport="mqtt",
            received_at=received,
        )
    async with db.transaction() as session:
        again = await accept_message(
            session,
            device.identity,
            "telemetry",
            payload(body),
            transport="https",
            received_at=received + timedelta(seconds=5),
        )
    assert (first.new, first.positions, first.kind) == (True, 3, "telemetry")
    assert (again.new, again.duplicate, again.positions) == (False, True, 0)
    assert await _positions(db, device.identity.device_id) == [
        ("m-1", 0, 31.2304),
        ("m-1", 1, 31.2305),
        ("m-1", 2, 31.2306),
    ]
    async with db.transaction() as session:
        state = await session.get(DeviceStateRow, device.identity.device_id)
        assert state is not None
        assert (state.online, state.battery_pct, state.signal_dbm, state.lat) == (
            True,
            77,
            -90,
            31.2306,
        )
        assert state.position_at == max(
            p.at for p in parse_message("telemetry", payload(body)).positions
        )  # type: ignore[union-attr]
        seen = await session.scalar(
            select(func.count())
            .select_from(DeviceMessageSeen)
            .where(DeviceMessageSeen.recorder_id == device.identity.device_id)
        )
        assert seen == 1
        # The duplicate still counted as a heartbeat (written: 5 s later than the first).
        assert state.last_seen_at == received + timedelta(seconds=5)
        assert state.last_transport == "https"


async def test_positions_go_to_daily_partitions_created_on_demand(db: Database) -> None:
    device = await make_enrolled(db)
    old_day = now() - timedelta(days=3)
    body = {"msg_id": "p", "positions": [position(old_day), position(now())]}
    async with db.transaction() as session:
        result = await accept_message(
            session,
            device.identity,
            "telemetry",
            payload(body),
            transport="mqtt",
            received_at=now(),
        )
        assert result.positions == 2
        rows = await session.execute(
            text(
                "SELECT tableoid::regclass::text FROM device_positions "
                "WHERE recorder_id = :r ORDER BY at"
            ),
            {"r": device.identity.device_id},
        )
        assert [r[0] for r in rows] == [
            partition_name(old_day.date()),
            partition_name(now().date()),
        ]


@pytest.mark.parametrize(
    ("shift", "message"),
    [(timedelta(minutes=6), "more than 300 s ahead"), (timedelta(days=-8), "older than 7 days")],
)
async def test_times_outside_the_window_are_refused(
    db: Database, shift: timedelta, message: str
) -> None:
    device = await make_enrolled(db)
    body = {"msg_id": "t", "positions": [position(now()), position(now() + shift)]}
    async with db.transaction() as session:
        with pytest.raises(InvalidDeviceMessage) as caught:
            await accept_message(
                session,
                device.identity,
                "telemetry",
                payload(body),
                transport="mqtt",
                received_at=now(),
            )
    assert caught.value.fields == {"positions.1.at": message}
    assert await _positions(db, device.identity.device_id) == []


async def test_state_is_written_at_most_once_a_second_unless_material(db: Database) -> None:
    device = await make_enrolled(db)
    t0 = now()
    results = []
    async with db.transaction() as session:
        for i, (dt, extra) in enumerate(
            [
                (0.0, {}),  # came online: written
                (0.3, {"battery_pct": 50}),  # nothing material, too soon: skipped
                (0.6, {"recording": True}),  # recording started: material, written
                (1.7, {"battery_pct": 49}),  # a second after the last write: written
            ]
        ):
            body = telemetry_body(f"s{i}", count=1, at=t0, **extra)
            results.append(
                await accept_message(
                    session,
                    device.identity,
                    "telemetry",
                    payload(body),
                    transport="mqtt",
                    received_at=t0 + timedelta(seconds=dt),
                    limits=LIMITS,
                )
            )
        state = (
            await session.execute(
                select(DeviceStateRow).where(
                    DeviceStateRow.recorder_id == device.identity.device_id
                )
            )
        ).scalar_one()
        assert (state.battery_pct, state.recording) == (49, True)
    assert [r.state_written for r in results] == [True, False, True, True]


async def test_events_are_stamped_with_the_bound_officer(
    client: httpx.AsyncClient, db: Database, ps_operator: Actor
) -> None:
    device = await make_enrolled(db)
    officer = await make_officer(db)
    rid = device.identity.device_id
    start = now() - timedelta(minutes=5)
    r = await client.post(
        f"/api/v1/devices/{rid}/binding",
        headers=ps_operator.headers,
        json={"officer_id": str(officer), "started_at": start.isoformat()},
    )
    assert r.status_code == 201
    before = {"msg_id": "early", "kind": "tamper", "at": (start - timedelta(seconds=1)).isoformat()}
    at = now() - timedelta(seconds=2)
    sos = {
        "msg_id": "sos-1",
        "kind": "sos",
        "at": at.isoformat(),
        "position": position(at),
        "details": {"button": "long"},
    }
    r = await client.post("/api/v1/devices/self/events", headers=device.headers, json=sos)
    assert r.json() == {"msg_id": "sos-1", "duplicate": False, "positions": 0}
    r = await client.post("/api/v1/devices/self/events", headers=device.headers, json=sos)
    assert r.json()["duplicate"] is True
    r = await client.post("/api/v1/devices/self/events", headers=device.headers, json=before)
    assert r.status_code == 200
    r = await client.get(f"/api/v1/devices/{rid}/events", headers=ps_operator.headers)
    items = r.json()["items"]  # newest first; the tamper predates the shift: nobody wore it
    assert [(e["kind"], e["source"], e["officer_id"]) for e in items] == [
        ("online", "platform", str(officer)),
        ("sos", "device", str(officer)),
        ("tamper", "device", None),
    ]
    assert (items[1]["lat"], items[1]["details"]) == (31.2304, {"button": "long"})
    r = await client.get(
        f"/api/v1/devices/{rid}/events", headers=ps_operator.headers, params={"limit": "1"}
    )
    r = await client.get(
        f"/api/v1/devices/{rid}/events",
        headers=ps_operator.headers,
        params={"limit": "5", "cursor": r.json()["next_cursor"]},
    )
    assert [e["kind"] for e in r.json()["items"]] == ["sos", "tamper"]
    r = await client.get(
        f"/api/v1/devices/{rid}/events", headers=ps_operator.headers, params={"kind": "sos"}
    )
    assert len(r.json()["items"]) == 1


async def test_https_telemetry_end_to_end(
    client: httpx.AsyncClient, db: Database, ps_operator: Actor
) -> None:
    device = await make_enrolled(db)
    rid = device.identity.device_id
    at = now()
    body = telemetry_body("h-1", count=5, at=at, battery_pct=64.5, temperature_c=38.0)
    r = await client.post("/api/v1/devices/self/telemetry", headers=device.headers, json=body)
    assert r.json() == {"msg_id": "h-1", "duplicate": False, "positions": 5}
    r = await client.post("/api/v1/devices/self/telemetry", headers=device.headers, json=body)
    assert r.json() == {"msg_id": "h-1", "duplicate": True, "positions": 0}
    recorder = (await client.get(f"/api/v1/devices/{rid}", headers=ps_operator.headers)).json()
    latest = recorder["latest"]
    assert (latest["online"], latest["battery_pct"], latest["temperature_c"], latest["lat"]) == (
        True,
        64.5,
        38.0,
        31.2308,
    )
    assert latest["last_transport"] == "https"
    params = {"from": (at - timedelta(minutes=1)).isoformat(), "limit": "2"}
    page = (
        await client.get(
            f"/api/v1/devices/{rid}/positions", headers=ps_operator.headers, params=params
        )
    ).json()
    assert page["type"] == "FeatureCollection"
    coords = [f["geometry"]["coordinates"] for f in page["features"]]
    assert coords == [[121.4737, 31.2304], [121.4737, 31.2305]]
    rest = (
        await client.get(
            f"/api/v1/devices/{rid}/positions",
            headers=ps_operator.headers,
            params={**params, "limit": "10", "cursor": page["next_cursor"]},
        )
    ).json()
    assert [f["geometry"]["coordinates"][1] for f in rest["features"]] == [
        31.2306,
        31.2307,
        31.2308,
    ]
    assert rest["next_cursor"] is None
    line = (
        await client.get(
            f"/api/v1/devices/{rid}/positions",
            headers=ps_operator.headers,
            params={"from": params["from"], "shape": "line"},
        )
    ).json()
    (feature,) = line["features"]
    assert feature["geometry"]["type"] == "LineString"
    assert len(feature["geometry"]["coordinates"]) == len(feature["properties"]["times"]) == 5


async def test_https_bad_payloads_are_422_with_fields(
    client: httpx.AsyncClient, db: Database
) -> None:
    device = await make_enrolled(db)
    bad = telemetry_body("b", count=1)
    bad["positions"][0]["lat"] = 123
    r = await client.post("/api/v1/devices/self/telemetry", headers=device.headers, json=bad)
    assert (r.status_code, r.json()["error"], list(r.json()["fields"])) == (
        422,
        "validation_failed",
        ["positions.0.lat"],
    )
    future = telemetry_body("f", count=1, at=now() + timedelta(hours=1))
    r = await client.post("/api/v1/devices/self/telemetry", headers=device.headers, json=future)
    assert (r.status_code, r.json()["error"], r.json()["fields"]) == (
        422,
        "invalid_device_message",
        {"positions.0.at": "more than 300 s ahead"},
    )
    r = await client.post(
        "/api/v1/devices/self/telemetry",
        headers={**device.headers, "Content-Type": "application/json"},
        content=b"{nope",
    )
    assert (r.status_code, r.json()["error"]) == (400, "malformed_json")
    assert await _positions(db, device.identity.device_id) == []


async def test_status_updates_firmware_and_last_will_goes_offline(db: Database) -> None:
    device = await make_enrolled(db)
    rid = device.identity.device_id
    t0 = now()
    async with db.transaction() as session:
        await accept_message(
            session,
            device.identity,
            "status",
            payload({"msg_id": "a", "firmware": "3.0.1", "storage_free_mb": 1200}),
            transport="mqtt",
            received_at=t0,
            address="198.51.100.4:40001",
        )
        await accept_message(
            session,
            device.identity,
            "status",
            payload({"msg_id": "b", "state": "offline"}),
            transport="mqtt",
            received_at=t0 + timedelta(seconds=30),
        )
        state = (
            await session.execute(select(DeviceStateRow).where(DeviceStateRow.recorder_id == rid))
        ).scalar_one()
        assert (state.online, state.firmware, state.storage_free_mb, state.last_address) == (
            False,
            "3.0.1",
            1200,
            "198.51.100.4:40001",
        )
        kinds = list(
            await session.scalars(
                select(DeviceEvent.kind)
                .where(DeviceEvent.recorder_id == rid)
                .order_by(DeviceEvent.at)
            )
        )
        assert kinds == ["online", "offline"]
