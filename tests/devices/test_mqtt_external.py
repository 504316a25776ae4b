"""External broker mode: the bridge against a real Mosquitto.

- the shared Mosquitto on 127.0.0.1:1883 (anonymous, as installed here): MQTT 5 and 3.1.1
  recorders publish, positions are stored; a bridge that dies holding unacknowledged
  messages gets them again on restart, and stores them once;
- a private Mosquitto started by the test with the ACL file `mqtt_acl` generates and a
  password file of `$7$` lines: per-device authentication and topic rules enforced by
  Mosquitto itself.

Serials are unique per run, so other users of the shared broker do not interfere (their
messages reach the bridge as unknown recorders and are dropped).
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from citywitness.devices.broker import MqttStartupError
from citywitness.devices.mqtt_acl import mosquitto_acl, mosquitto_password_line
from citywitness.devices.mqtt_bridge import (
    UP_SUBSCRIPTIONS,
    BrokerEndpoint,
    MqttBridge,
    subscriptions,
)
from citywitness.devices.mqtt_runtime import start_mqtt
from citywitness.kit.db import Database
from citywitness.settings import Settings
from tests.devices.test_mqtt_support import (
    Device,
    DeviceClient,
    free_port,
    listening,
    make_device,
    mosquitto_binary,
    position_count,
    start_mosquitto,
    telemetry,
    wait_until,
)
from tests.factories import TRAFFIC_POLICE

pytestmark = pytest.mark.slow

SHARED_HOST, SHARED_PORT = "127.0.0.1", 1883
NOT_AUTHORIZED = 135


needs_shared_mosquitto = pytest.mark.skipif(
    not listening(SHARED_HOST, SHARED_PORT), reason="no Mosquitto on 127.0.0.1:1883"
)


@pytest.fixture
async def database(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=4, max_overflow=2)
    yield db
    await db.dispose()


async def _forget_session(host: str, port: int, client_id: str) -> None:
    """Connect once with a clean session so the shared broker drops what it kept for us."""
    client = DeviceClient(host, port, client_id=client_id, clean_session=True)
    await client.connect()
    await client.disconnect()


async def _stored(database: Database, device: Device, count: int) -> bool:
    return await position_count(database, device) == count


@needs_shared_mosquitto
@pytest.mark.parametrize("protocol", [paho.MQTTv5, paho.MQTTv311], ids=["mqtt5", "mqtt311"])
async def test_bridge_stores_what_devices_publish_on_mosquitto(
    database: Database, protocol: int
) -> None:
    device = await make_device(database)
    bridge_id = f"cw-test-bridge-{uuid.uuid4().hex[:8]}"
    endpoint = BrokerEndpoint.from_url(f"mqtt://{SHARED_HOST}:{SHARED_PORT}")
    bridge = MqttBridge(database, endpoint, client_id=bridge_id)
    await bridge.start()
    try:
        client = DeviceClient(SHARED_HOST, SHARED_PORT, client_id=device.serial, protocol=protocol)
        connack = await client.connect()
        assert connack is not None
        assert connack.value == 0
        await client.publish(device.topic("telemetry"), telemetry("ext-1"))
        await client.publish(device.topic("telemetry"), telemetry("ext-1"))  # a retry
        await wait_until(lambda: _stored(database, device, 2))
        await wait_until(lambda: _count(bridge, "duplicate", 1))
        await client.disconnect()
    finally:
        await bridge.stop()
        await _forget_session(SHARED_HOST, SHARED_PORT, bridge_id)
    assert bridge.store.counts["stored"] == 1
    assert bridge.store.counts["duplicate"] == 1


@needs_shared_mosquitto
async def test_bridges_in_a_shared_group_split_the_stream_and_store_each_message_once(
    database: Database,
) -> None:
    device = await make_device(database)
    group = f"cw-test-{uuid.uuid4().hex[:8]}"
    endpoint = BrokerEndpoint.from_url(f"mqtt://{SHARED_HOST}:{SHARED_PORT}")
    bridges = [
        MqttBridge(database, endpoint, client_id=f"{group}-{n}", shared_group=group)
        for n in range(2)
    ]
    for bridge in bridges:
        await bridge.start()
    client = DeviceClient(SHARED_HOST, SHARED_PORT, client_id=device.serial)
    try:
        await client.connect()
        for n in range(20):
            await client.publish(device.topic("telemetry"), telemetry(f"shared-{n}"))
        await wait_until(lambda: _stored(database, device, 40))
        await client.disconnect()
    finally:
        for bridge in bridges:
            await bridge.stop()
            await _forget_session(SHARED_HOST, SHARED_PORT, bridge.client_id)
    stored = [bridge.store.counts["stored"] for bridge in bridges]
    assert sum(stored) == 20
    assert min(stored) > 0  # Mosquitto deals shared subscriptions round robin
    assert all(set(bridge.store.counts) == {"stored"} for bridge in bridges)


async def test_a_shared_group_needs_an_external_broker(
    database: Database, fresh_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database={"url": fresh_database_url},
        mqtt={"shared_group": "bridges", "listen_port": free_port()},
    )
    with pytest.raises(MqttStartupError, match=r"mqtt\.shared_group needs an external broker"):
        await start_mqtt(settings, database)


def test_shared_subscriptions_are_prefixed_with_the_group() -> None:
    assert subscriptions("g1") == [
        "$share/g1/cw/+/+/telemetry",
        "$share/g1/cw/+/+/event",
        "$share/g1/cw/+/+/status",
    ]
    assert subscriptions(None) == list(UP_SUBSCRIPTIONS)


async def _count(bridge: MqttBridge, outcome: str, expected: int) -> bool:
    return bridge.store.counts[outcome] == expected


@needs_shared_mosquitto
async def test_unacknowledged_messages_come_back_to_the_restarted_bridge(
    database: Database,
) -> None:
    device = await make_device(database)
    bridge_id = f"cw-test-bridge-{uuid.uuid4().hex[:8]}"
    # a bridge that receives but dies before its commit (so before any PUBACK)
    crashed = DeviceClient(
        SHARED_HOST, SHARED_PORT, client_id=bridge_id, clean_session=False, manual_ack=True
    )
    await crashed.connect()
    for topic in UP_SUBSCRIPTIONS:
        await crashed.subscribe(topic)
    publisher = DeviceClient(SHARED_HOST, SHARED_PORT, client_id=device.serial)
    await publisher.connect()
    for n in range(3):
        await publisher.publish(device.topic("telemetry"), telemetry(f"inflight-{n}"))
    await wait_until(lambda: _mine(crashed, device, 3))
    await crashed.kill()

    endpoint = BrokerEndpoint(host=SHARED_HOST, port=SHARED_PORT)  # 3.1.1, same session
    bridge = MqttBridge(database, endpoint, client_id=bridge_id)
    await bridge.start()
    try:
        await wait_until(lambda: _stored(database, device, 6))
        await publisher.publish(device.topic("telemetry"), telemetry("inflight-0"))  # retry
        await wait_until(lambda: _count(bridge, "duplicate", 1))
    finally:
        await bridge.stop()
        await publisher.disconnect()
        await _forget_session(SHARED_HOST, SHARED_PORT, bridge_id)
    assert bridge.store.counts["stored"] == 3
    assert await position_count(database, device) == 6


async def _mine(client: DeviceClient, device: Device, count: int) -> bool:
    return sum(1 for m in client.messages if m.topic == device.topic("telemetry")) >= count


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> tuple[int, Path]:
    """A free port and a directory for a Mosquitto of the test's own (`_start_mosquitto`)."""
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed")
    return free_port(), tmp_path


def _start_mosquitto(port: int, directory: Path) -> subprocess.Popen[bytes]:
    return start_mosquitto(
        port,
        directory,
        "allow_anonymous false\n"
        f"password_file {directory / 'passwd'}\n"
        f"acl_file {directory / 'acl'}\n"
        "persistence false\n",
    )


async def test_generated_acl_and_passwords_make_mosquitto_enforce_device_rules(
    database: Database, private_mosquitto: tuple[int, Path]
) -> None:
    port, directory = private_mosquitto
    device = await make_device(database)
    other = await make_device(database, TRAFFIC_POLICE)
    bridge_secret = uuid.uuid4().hex
    async with database.transaction() as session:
        acl = await mosquitto_acl(session, bridge_username="cw-bridge")
    (directory / "acl").write_text(acl)
    (directory / "passwd").write_text(
        "\n".join(
            [
                mosquitto_password_line("cw-bridge", bridge_secret),
                mosquitto_password_line(device.serial, device.secret),
                mosquitto_password_line(other.serial, other.secret),
            ]
        )
        + "\n"
    )
    (directory / "passwd").chmod(0o600)
    process = _start_mosquitto(port, directory)
    bridge = MqttBridge(
        database,
        BrokerEndpoint.from_url(
            f"mqtt://127.0.0.1:{port}", username="cw-bridge", password=bridge_secret
        ),
        client_id="cw-bridge-1",
    )
    try:
        await bridge.start()
        wrong = DeviceClient(
            "127.0.0.1",
            port,
            client_id=device.serial,
            username=device.serial,
            password="nope",
            protocol=paho.MQTTv5,
        )
        refused = await wrong.connect()
        await wrong.disconnect()
        assert refused is not None
        assert refused.is_failure

        client = DeviceClient(
            "127.0.0.1",
            port,
            client_id=device.serial,
            username=device.serial,
            password=device.secret,
            protocol=paho.MQTTv5,
        )
        connack = await client.connect()
        assert connack is not None
        assert connack.value == 0
        await client.publish(other.topic("telemetry"), telemetry("forged"))
        await client.publish(device.topic("telemetry"), telemetry("own"))
        await wait_until(lambda: _stored(database, device, 2))
        # Mosquitto 2.0 grants the subscription but delivers nothing the ACL denies
        await client.subscribe(other.command_topic)
        await client.subscribe(device.command_topic)
        await bridge.publish_command(other.identity.department_code, other.serial, b"theirs")
        await bridge.publish_command(device.identity.department_code, device.serial, b"mine")
        await wait_until(lambda: _received(client, 1))
        await client.disconnect()
    finally:
        await bridge.stop()
        process.terminate()
        process.wait(10)
    assert [(m.topic, m.payload) for m in client.messages] == [(device.command_topic, b"mine")]
    assert await position_count(database, other) == 0
    assert bridge.store.counts == {"stored": 1}


async def _received(client: DeviceClient, count: int) -> bool:
    return len(client.messages) >= count


async def test_acl_file_lists_each_active_recorder_and_the_bridge(database: Database) -> None:
    device = await make_device(database)
    async with database.transaction() as session:
        acl = await mosquitto_acl(session, bridge_username="cw-bridge")
    blocks = acl.rstrip("\n").split("\n\n")
    assert blocks[1] == (
        "user cw-bridge\n"
        "topic read cw/+/+/telemetry\n"
        "topic read cw/+/+/event\n"
        "topic read cw/+/+/status\n"
        "topic write cw/+/+/command"
    )
    assert blocks[2:] == [
        f"user {device.serial}\n"
        f"topic write cw/public-security/{device.serial}/telemetry\n"
        f"topic write cw/public-security/{device.serial}/event\n"
        f"topic write cw/public-security/{device.serial}/status\n"
        f"topic read cw/public-security/{device.serial}/command"
    ]
    assert all(line.startswith("# ") for line in blocks[0].splitlines())


def test_password_lines_use_mosquittos_pbkdf2_format() -> None:
    line = mosquitto_password_line("T1", "cwd_secret", salt=b"0123456789ab", iterations=101)
    digest = hashlib.pbkdf2_hmac("sha512", b"cwd_secret", b"0123456789ab", 101)
    assert line == "T1:$7$101$MDEyMzQ1Njc4OWFi$" + base64.b64encode(digest).decode()
