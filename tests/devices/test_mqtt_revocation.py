"""Revoking a credential disconnects the recorder from the embedded broker at once (within
the revocation watch's poll), and the revoked secret cannot connect again.  Real API,
real broker, real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.app import create_app
from citywitness.devices.broker import EmbeddedBroker
from citywitness.devices.models import DeviceEvent
from citywitness.devices.mqtt_bridge import BrokerEndpoint, MqttBridge
from citywitness.kit.db import Database
from citywitness.settings import Settings
from tests.devices.test_mqtt_support import (
    Device,
    DeviceClient,
    free_port,
    make_device,
    position_count,
    status,
    telemetry,
    wait_until,
)
from tests.factories import PUBLIC_SECURITY, Actor, make_actor

pytestmark = pytest.mark.slow

NOT_AUTHORIZED = 135


@pytest.fixture
async def database(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=6, max_overflow=4)
    yield db
    await db.dispose()


@pytest.fixture
async def broker(database: Database) -> AsyncIterator[EmbeddedBroker]:
    broker = EmbeddedBroker(
        database, host="127.0.0.1", port=free_port(), revocation_poll_seconds=0.2
    )
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture
async def bridge(database: Database, broker: EmbeddedBroker) -> AsyncIterator[MqttBridge]:
    endpoint = BrokerEndpoint(
        host="127.0.0.1",
        port=broker.port,
        username=broker.bridge_username,
        password=broker.bridge_secret,
    )
    bridge = MqttBridge(database, endpoint, client_id="bridge-revocation")
    await bridge.start()
    yield bridge
    await bridge.stop()


@pytest.fixture
async def api(
    tmp_path: Path, database: Database, fresh_database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database={"url": fresh_database_url},
        jobs={"in_process_worker": False, "periodic": False},
    )
    transport = httpx.ASGITransport(app=create_app(settings, database))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def admin(database: Database) -> Actor:
    return await make_actor(database, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})


def _client(broker: EmbeddedBroker, device: Device, name: str) -> DeviceClient:
    return DeviceClient(
        "127.0.0.1",
        broker.port,
        client_id=name,
        username=device.serial,
        password=device.secret,
        will=(device.topic("status"), status("offline", "will-1")),
    )


async def _disconnected(client: DeviceClient) -> bool:
    return not client._client.is_connected()


async def _offline_event(database: Database, device: Device) -> bool:
    async with database.transaction() as session:
        kinds = (
            await session.execute(
                select(DeviceEvent.kind).where(DeviceEvent.recorder_id == device.identity.device_id)
            )
        ).scalars()
        return "offline" in list(kinds)


async def test_revoking_a_credential_disconnects_the_recorder_and_keeps_it_out(
    database: Database,
    broker: EmbeddedBroker,
    bridge: MqttBridge,
    api: httpx.AsyncClient,
    admin: Actor,
) -> None:
    device = await make_device(database)
    bystander = await make_device(database)
    client = _client(broker, device, device.serial)
    other = _client(broker, bystander, bystander.serial)
    assert (await client.connect(), await other.connect()) == (0, 0)
    await client.publish(device.topic("telemetry"), telemetry("before"))
    await wait_until(lambda: _stored(database, device, 2))

    revoked = await api.post(
        f"/api/v1/devices/{device.identity.device_id}/revoke", headers=admin.headers
    )
    assert (revoked.status_code, revoked.json()["revoked"]) == (200, 1)

    await wait_until(lambda: _disconnected(client), seconds=10)
    await wait_until(lambda: _offline_event(database, device))  # its will was published
    again = _client(broker, device, device.serial)
    refused = await again.connect()
    await again.disconnect()
    await client.disconnect()

    await other.publish(bystander.topic("telemetry"), telemetry("unaffected"))
    await wait_until(lambda: _stored(database, bystander, 2))
    still = await _disconnected(other)
    await other.disconnect()
    assert refused == NOT_AUTHORIZED
    assert broker.revocations.disconnected == 1
    assert not still
    assert await position_count(database, device) == 2


async def _stored(database: Database, device: Device, count: int) -> bool:
    return await position_count(database, device) == count
