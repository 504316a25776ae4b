"""The embedded broker (amqtt) with device authentication and ACLs, and the bridge that
stores what recorders publish: real sockets, real broker, real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from sqlalchemy import select

from citywitness.devices.broker import EmbeddedBroker, MqttPortInUse
from citywitness.devices.models import DeviceEvent, DevicePosition, DeviceStateRow
from citywitness.devices.mqtt_bridge import BrokerEndpoint, MqttBridge
from citywitness.kit.db import Database
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
from tests.factories import TRAFFIC_POLICE

pytestmark = pytest.mark.slow

NOT_AUTHORIZED = 135  # paho's reason code for CONNACK 5 (3.1.1) / 0x87 (5)
SUBSCRIPTION_REFUSED = 128


@pytest.fixture
async def database(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=4, max_overflow=2)
    yield db
    await db.dispose()


@pytest.fixture
async def broker(database: Database) -> AsyncIterator[EmbeddedBroker]:
    broker = EmbeddedBroker(database, host="127.0.0.1", port=free_port())
    await broker.start()
    yield broker
    await broker.stop()


def make_bridge(database: Database, broker: EmbeddedBroker, client_id: str) -> MqttBridge:
    endpoint = BrokerEndpoint(
        host="127.0.0.1",
        port=broker.port,
        username=broker.bridge_username,
        password=broker.bridge_secret,
    )
    return MqttBridge(database, endpoint, client_id=client_id, batch_size=50)


@pytest.fixture
async def bridge(database: Database, broker: EmbeddedBroker) -> AsyncIterator[MqttBridge]:
    bridge = make_bridge(database, broker, "bridge-test")
    await bridge.start()
    yield bridge
    await bridge.stop()


@pytest.fixture
async def device(database: Database) -> Device:
    return await make_device(database)


@pytest.fixture
async def other(database: Database) -> Device:
    return await make_device(database, TRAFFIC_POLICE)


def client_for(broker: EmbeddedBroker, device: Device, **kwargs: object) -> DeviceClient:
    options: dict[str, object] = {"username": device.serial, "password": device.secret}
    options.update(kwargs)
    return DeviceClient("127.0.0.1", broker.port, client_id=device.serial, **options)  # type: ignore[arg-type]


async def test_device_publishes_telemetry_and_the_positions_are_stored(
    database: Database, broker: EmbeddedBroker, bridge: MqttBridge, device: Device
) -> None:
    client = client_for(broker, device)
    connack = await client.connect()
    assert connack is not None
    assert connack.value == 0
    await client.publish(device.topic("telemetry"), telemetry("m-1", lat=30.5, lon=114.25))
    await wait_until(lambda: _has_positions(database, device, 2))
    await client.disconnect()

    async with database.transaction() as session:
        rows = (
            await session.execute(
                select(
                    DevicePosition.lat,
                    DevicePosition.lon,
                    DevicePosition.fix,
                    DevicePosition.msg_id,
                )
                .where(DevicePosition.recorder_id == device.identity.device_id)
                .order_by(DevicePosition.seq)
            )
        ).all()
        state = await session.get(DeviceStateRow, device.identity.device_id)
    assert [tuple(row) for row in rows] == [
        (30.5, 114.25, "beidou", "m-1"),
        (30.501, 114.25, "gps", "m-1"),
    ]
    assert state is not None
    assert state.online is True
    assert state.last_transport == "mqtt"
    assert state.battery_pct == 81.5
    assert bridge.store.counts["stored"] == 1


async def _has_positions(database: Database, device: Device, count: int) -> bool:
    return await position_count(database, device) == count


async def test_mqtt5_clients_are_refused_by_the_embedded_broker(
    broker: EmbeddedBroker, device: Device
) -> None:
    """amqtt speaks MQTT 3.1.1 only: a v5 client never gets a session (use Mosquitto)."""
    client = client_for(broker, device, protocol=paho.MQTTv5)
    connack = await client.connect()
    assert connack is None or connack.is_failure
    await client.disconnect()


@pytest.mark.parametrize("case", ["wrong_secret", "unknown_serial", "client_id_not_serial"])
async def test_bad_credentials_get_connack_not_authorized(
    broker: EmbeddedBroker, device: Device, case: str
) -> None:
    username, password, client_id = device.serial, device.secret, device.serial
    if case == "wrong_secret":
        password = "cwd_" + "x" * 43
    elif case == "unknown_serial":
        username = client_id = "NOSUCHSERIAL"
    else:
        client_id = "someone-else"
    client = DeviceClient(
        "127.0.0.1", broker.port, client_id=client_id, username=username, password=password
    )
    connack = await client.connect()
    await client.disconnect()
    assert connack is not None
    assert connack.value == NOT_AUTHORIZED


async def test_publishing_on_another_devices_topic_is_dropped(
    database: Database, broker: EmbeddedBroker, bridge: MqttBridge, device: Device, other: Device
) -> None:
    client = client_for(broker, device)
    await client.connect()
    # MQTT 3.1.1 cannot refuse a PUBLISH: the broker acknowledges it and drops it
    await client.publish(other.topic("telemetry"), telemetry("forged"))
    await client.publish(other.topic("status"), status("offline"))
    await client.publish(device.topic("telemetry"), telemetry("marker"))
    await wait_until(lambda: _has_positions(database, device, 2))
    await client.disconnect()

    assert await position_count(database, other) == 0
    async with database.transaction() as session:
        state = await session.get(DeviceStateRow, other.identity.device_id)
    assert state is not None
    assert state.last_seen_at is None
    assert bridge.store.counts == {"stored": 1}


async def test_subscribing_to_another_devices_command_topic_is_refused(
    broker: EmbeddedBroker, bridge: MqttBridge, device: Device, other: Device
) -> None:
    client = client_for(broker, device)
    await client.connect()
    assert [r.value for r in await client.subscribe(other.command_topic)] == [SUBSCRIPTION_REFUSED]
    assert [r.value for r in await client.subscribe("cw/#")] == [SUBSCRIPTION_REFUSED]
    assert [r.value for r in await client.subscribe(device.command_topic)] == [1]

    await bridge.publish_command(other.identity.department_code, other.serial, b'{"c":"other"}')
    await bridge.publish_command(device.identity.department_code, device.serial, b'{"c":"mine"}')
    await wait_until(lambda: _received(client, 1))
    await client.disconnect()
    assert [(m.topic, m.payload) for m in client.messages] == [
        (device.command_topic, b'{"c":"mine"}')
    ]


async def _received(client: DeviceClient, count: int) -> bool:
    return len(client.messages) >= count


async def test_last_will_marks_the_recorder_offline(
    database: Database, broker: EmbeddedBroker, bridge: MqttBridge, device: Device
) -> None:
    will = (device.topic("status"), status("offline", "will-1"))
    client = client_for(broker, device, will=will)
    await client.connect()
    await client.publish(device.topic("telemetry"), telemetry("t-1"))
    await wait_until(lambda: _online(database, device, expected=True))
    await client.kill()
    await wait_until(lambda: _online(database, device, expected=False))

    async with database.transaction() as session:
        kinds = (
            await session.scalars(
                select(DeviceEvent.kind)
                .where(DeviceEvent.recorder_id == device.identity.device_id)
                .order_by(DeviceEvent.at, DeviceEvent.kind)
            )
        ).all()
    assert kinds == ["online", "offline"]


async def _online(database: Database, device: Device, *, expected: bool) -> bool:
    async with database.transaction() as session:
        state = await session.get(DeviceStateRow, device.identity.device_id)
    return state is not None and state.last_seen_at is not None and state.online is expected


async def test_a_last_will_on_another_devices_topic_is_refused(
    broker: EmbeddedBroker, device: Device, other: Device
) -> None:
    client = client_for(broker, device, will=(other.topic("status"), status("offline")))
    connack = await client.connect()
    await client.disconnect()
    assert connack is not None
    assert connack.value == NOT_AUTHORIZED


async def test_bad_messages_are_dropped_and_the_rest_of_the_batch_is_stored(
    database: Database, broker: EmbeddedBroker, bridge: MqttBridge, device: Device
) -> None:
    client = client_for(broker, device)
    await client.connect()
    await client.publish(device.topic("telemetry"), b"not json")
    await client.publish(device.topic("telemetry"), b'{"msg_id": "x", "positions": []}')
    await client.publish(device.topic("telemetry"), telemetry("good"))
    await wait_until(lambda: _has_positions(database, device, 2))
    await wait_until(lambda: _const(sum(bridge.store.counts.values()) == 3))
    await client.disconnect()
    assert bridge.store.counts == {"rejected": 2, "stored": 1}


async def _const(value: bool) -> bool:
    return value


async def test_bridge_restart_gets_what_was_queued_and_stores_it_once(
    database: Database, broker: EmbeddedBroker, device: Device
) -> None:
    first = make_bridge(database, broker, "bridge-restart")
    await first.start()
    client = client_for(broker, device)
    await client.connect()
    await client.publish(device.topic("telemetry"), telemetry("r-1"))
    await wait_until(lambda: _has_positions(database, device, 2))
    await first.stop()

    # while no bridge is connected the broker keeps the messages for its persistent session
    await client.publish(device.topic("telemetry"), telemetry("r-2"))
    await client.publish(device.topic("telemetry"), telemetry("r-1"))  # a device retry
    await client.publish(device.topic("telemetry"), telemetry("r-3"))

    second = make_bridge(database, broker, "bridge-restart")
    await second.start()
    await wait_until(lambda: _const(sum(second.store.counts.values()) == 3))
    await second.stop()
    await client.disconnect()
    assert second.store.counts == {"stored": 2, "duplicate": 1}
    assert await position_count(database, device) == 6


async def test_a_taken_port_is_a_clear_error(database: Database) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        broker = EmbeddedBroker(database, host="127.0.0.1", port=port)
        with pytest.raises(MqttPortInUse) as caught:
            await broker.start()
    assert str(caught.value) == (
        f"the embedded MQTT broker cannot listen on 127.0.0.1:{port}: the port is already in "
        "use; set mqtt.listen_port (CW_MQTT__LISTEN_PORT) to a free port, or point "
        "mqtt.url (CW_MQTT__URL) at the broker that runs there"
    )
    assert not broker.running


def test_serve_stops_at_once_when_the_mqtt_port_is_taken(
    fresh_database_url: str, tmp_path: Path
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CW_")}
        env.update(
            CW_DATA_DIR=str(tmp_path / "data"),
            CW_DATABASE__URL=fresh_database_url,
            CW_SERVER__PORT=str(free_port()),
            CW_JOBS__IN_PROCESS_WORKER="false",
            CW_MQTT__LISTEN_PORT=str(port),
        )
        done = subprocess.run(
            [sys.executable, "-m", "citywitness", "serve"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2
    assert (
        f"startup error: the embedded MQTT broker cannot listen on 127.0.0.1:{port}: the port "
        "is already in use; set mqtt.listen_port (CW_MQTT__LISTEN_PORT)"
    ) in done.stderr.decode()


async def test_a_burst_sent_just_before_disconnect_is_all_stored(
    database: Database, broker: EmbeddedBroker, bridge: MqttBridge, device: Device
) -> None:
    """Acknowledged means kept: the broker routes what it queued even when the device
    disconnects right after its last PUBACK (amqtt alone would drop those)."""
    client = client_for(broker, device)
    await client.connect()
    await asyncio.gather(
        *(client.publish(device.topic("telemetry"), telemetry(f"burst-{n}")) for n in range(25))
    )
    await client.disconnect()
    await wait_until(lambda: _has_positions(database, device, 50))
    assert bridge.store.counts == {"stored": 25}
