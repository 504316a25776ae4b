"""Geofences: the API (validation, scope) and evaluation of real telemetry, end to end:
positions accepted -> recorded event -> geofence consumer -> crossing -> alert."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from citywitness.access.levels import Role
from citywitness.alerts.models import Alert
from citywitness.devices.telemetry import accept_message
from citywitness.geo import evaluation
from citywitness.geo.models import Geofence, GeofenceCrossing
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.events import OutboxEvent, consume_once
from tests.alerts.helpers import drain
from tests.devices.helpers import Enrolled, make_enrolled, make_recorder
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor

AREA = {
    "type": "Polygon",
    "coordinates": [[[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.1], [121.0, 31.0]]],
}
INSIDE, OUTSIDE = (31.05, 121.05), (31.5, 121.5)


@pytest.fixture
async def committed_db(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=4, max_overflow=4)
    yield db
    await db.dispose()


async def test_create_validate_read_and_change(db: Database, client: httpx.AsyncClient) -> None:
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    body: dict[str, Any] = {
        "name": "Old town patrol",
        "department_id": str(PUBLIC_SECURITY),
        "rule": "stay_inside",
        "geometry": AREA,
    }
    made = await client.post("/api/v1/geofences", json=body, headers=admin.headers)
    assert made.status_code == 201
    zone = made.json()
    assert (zone["rule"], zone["recorder_ids"], zone["active"]) == ("stay_inside", None, True)
    open_ring = {"type": "Polygon", "coordinates": [AREA["coordinates"][0][:-1]]}
    bad = await client.post(
        "/api/v1/geofences", json={**body, "geometry": open_ring}, headers=admin.headers
    )
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_geofence")
    assert bad.json()["fields"] == {
        "geometry.coordinates.0": "a ring must be closed (first position == last)"
    }
    foreign = await make_recorder(db, TRAFFIC_POLICE)
    wrong = await client.post(
        "/api/v1/geofences",
        json={**body, "recorder_ids": [str(foreign.id)]},
        headers=admin.headers,
    )
    assert (wrong.status_code, list(wrong.json()["fields"])) == (422, ["recorder_ids"])
    changed = await client.patch(
        f"/api/v1/geofences/{zone['id']}", json={"active": False}, headers=admin.headers
    )
    assert changed.json()["active"] is False
    other = await make_actor(db, roles={TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]})
    hidden = await client.get(f"/api/v1/geofences/{zone['id']}", headers=other.headers)
    assert hidden.status_code == 404


async def _positions(db: Database, device: Enrolled, *points: tuple[float, float]) -> None:
    start = utcnow() - timedelta(seconds=len(points))
    body = {
        "msg_id": uuid.uuid4().hex,
        "positions": [
            {"lat": lat, "lon": lon, "fix": "gps", "at": (start + timedelta(seconds=i)).isoformat()}
            for i, (lat, lon) in enumerate(points)
        ],
    }
    async with db.transaction() as session:
        await accept_message(
            session,
            device.identity,
            "telemetry",
            json.dumps(body).encode(),
            transport="mqtt",
            received_at=utcnow(),
        )


async def _evaluate(db: Database) -> None:
    consumer = evaluation.consumer()
    while await consume_once(db, consumer):
        pass
    await drain(db)


async def _zone(db: Database, rule: str, recorder_ids: list[uuid.UUID] | None = None) -> Geofence:
    async with db.transaction() as session:
        zone = Geofence(
            id=uuid.uuid4(),
            name=f"zone {rule}",
            department_id=PUBLIC_SECURITY,
            rule=rule,
            geometry=AREA,
            recorder_ids=recorder_ids,
            active=True,
        )
        session.add(zone)
    return zone


async def _crossings(db: Database, zone: Geofence) -> list[tuple[str, bool]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(GeofenceCrossing.direction, GeofenceCrossing.breach)
            .where(GeofenceCrossing.geofence_id == zone.id)
            .order_by(GeofenceCrossing.at)
        )
        return [(d, b) for d, b in rows.all()]


async def _alerts(db: Database, recorder_id: uuid.UUID) -> list[tuple[str, str, int]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Alert.kind, Alert.severity, Alert.occurrences)
            .where(Alert.recorder_id == recorder_id)
            .order_by(Alert.created_at)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def test_restricted_area_enter_is_an_edge(committed_db: Database) -> None:
    device = await make_enrolled(committed_db)
    zone = await _zone(committed_db, "restricted")
    await _positions(committed_db, device, OUTSIDE, INSIDE, INSIDE, INSIDE)
    await _evaluate(committed_db)
    await _positions(committed_db, device, INSIDE, OUTSIDE, OUTSIDE)
    await _evaluate(committed_db)
    assert await _crossings(committed_db, zone) == [("enter", True), ("exit", False)]
    assert await _alerts(committed_db, device.identity.device_id) == [("geofence_enter", "high", 1)]
    await _positions(committed_db, device, INSIDE)  # in again while the alert is open
    await _evaluate(committed_db)
    assert await _alerts(committed_db, device.identity.device_id) == [("geofence_enter", "high", 2)]


async def test_patrol_area_exit_and_listed_recorders_only(committed_db: Database) -> None:
    listed, other = await make_enrolled(committed_db), await make_enrolled(committed_db)
    zone = await _zone(committed_db, "stay_inside", [listed.identity.device_id])
    for device in (listed, other):
        await _positions(committed_db, device, INSIDE, OUTSIDE)
    await _evaluate(committed_db)
    assert await _crossings(committed_db, zone) == [("exit", True)]
    assert await _alerts(committed_db, listed.identity.device_id) == [
        ("geofence_exit", "medium", 1)
    ]
    assert await _alerts(committed_db, other.identity.device_id) == []


async def test_no_active_zone_records_no_position_events(committed_db: Database) -> None:
    device = await make_enrolled(committed_db)
    await _positions(committed_db, device, INSIDE)
    async with committed_db.transaction() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.topic == evaluation.POSITIONS)
        )
    assert found == 0
