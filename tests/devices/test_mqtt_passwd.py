"""External Mosquitto authentication: the `$7$` hash stored with each credential, the
password file `citywitness devices mqtt-passwd` writes, and a private Mosquitto that
authenticates recorders with it (and enforces the generated ACL)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from citywitness.cli import app
from citywitness.devices.credentials import revoke_credentials
from citywitness.devices.models import DeviceCredential
from citywitness.devices.mqtt_bridge import BrokerEndpoint, MqttBridge
from citywitness.devices.mqtt_passwd import mosquitto_hash
from citywitness.kit.db import Database
from tests.devices.test_mqtt_support import (
    Device,
    DeviceClient,
    free_port,
    make_device,
    mosquitto_binary,
    position_count,
    start_mosquitto,
    telemetry,
    wait_until,
)
from tests.factories import TRAFFIC_POLICE

pytestmark = pytest.mark.slow

NOT_AUTHORIZED = 135  # paho's reason code for CONNACK 5 (3.1.1)
BRIDGE_USER, BRIDGE_SECRET = "cw-bridge", "bridge-secret-for-this-test"


@pytest.fixture
async def database(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=4, max_overflow=2)
    yield db
    await db.dispose()


async def _cli(url: str, tmp_path: Path, *args: str) -> Result:
    env = {
        "CW_DATABASE__URL": url,
        "CW_DATA_DIR": str(tmp_path / "data"),
        "CW_MQTT__USERNAME": BRIDGE_USER,
        "CW_MQTT__PASSWORD": BRIDGE_SECRET,
    }
    # the command runs its own event loop: give it a thread of its own
    return await asyncio.to_thread(
        CliRunner().invoke, app, ["devices", *args], env=env, catch_exceptions=False
    )


def test_mosquitto_hash_is_pbkdf2_sha512_as_mosquitto_passwd_writes_it() -> None:
    hashed = mosquitto_hash("cwd_secret", salt=b"0123456789ab")
    digest = hashlib.pbkdf2_hmac("sha512", b"cwd_secret", b"0123456789ab", 101)
    assert hashed == "$7$101$MDEyMzQ1Njc4OWFi$" + base64.b64encode(digest).decode()


@pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed")
def test_mosquitto_passwd_writes_the_same_format(tmp_path: Path) -> None:
    """Our line has the shape of the one mosquitto_passwd makes (salt 12 bytes, 101 rounds)."""
    path = tmp_path / "pw"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(path), "dev", "s"],
        check=True,
    )
    theirs = path.read_text().strip().split(":", 1)[1].split("$")
    ours = mosquitto_hash("s").split("$")
    assert [len(part) for part in ours] == [len(part) for part in theirs]
    assert ours[:3] == theirs[:3] == ["", "7", "101"]


async def test_issuing_a_credential_stores_a_hash_of_its_secret(database: Database) -> None:
    device = await make_device(database)
    async with database.transaction() as session:
        stored = await session.scalar(
            select(DeviceCredential.mosquitto_hash).where(
                DeviceCredential.recorder_id == device.identity.device_id
            )
        )
    assert stored is not None
    _, seven, rounds, salt, digest = stored.split("$")
    expected = hashlib.pbkdf2_hmac(
        "sha512", device.secret.encode(), base64.b64decode(salt), int(rounds)
    )
    assert (seven, rounds, base64.b64decode(digest)) == ("7", "101", expected)


async def _stored(database: Database, device: Device, count: int) -> bool:
    return await position_count(database, device) == count


async def _connack(port: int, device: Device, secret: str) -> int | None:
    client = DeviceClient(
        "127.0.0.1", port, client_id=device.serial, username=device.serial, password=secret
    )
    reason = await client.connect()
    await client.disconnect()
    return None if reason is None else reason.value


@pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed")
async def test_mosquitto_authenticates_recorders_with_the_generated_password_file(
    database: Database, fresh_database_url: str, tmp_path: Path
) -> None:
    device = await make_device(database)
    other = await make_device(database, TRAFFIC_POLICE)
    revoked = await make_device(database)
    async with database.transaction() as session:
        await revoke_credentials(session, revoked.identity.device_id)

    passwd = await _cli(
        fresh_database_url, tmp_path, "mqtt-passwd", "--output", str(tmp_path / "passwd")
    )
    acl = await _cli(fresh_database_url, tmp_path, "mqtt-acl", "-o", str(tmp_path / "acl"))
    assert (passwd.exit_code, acl.exit_code) == (0, 0), passwd.output + acl.output
    lines = (await asyncio.to_thread((tmp_path / "passwd").read_text)).splitlines()
    users = [line.split(":", 1)[0] for line in lines]
    mode = (await asyncio.to_thread((tmp_path / "passwd").stat)).st_mode & 0o777
    assert users == [BRIDGE_USER, *sorted([device.serial, other.serial])]
    assert mode == 0o640

    port = free_port()
    process = start_mosquitto(
        port,
        tmp_path,
        "allow_anonymous false\n"
        f"password_file {tmp_path / 'passwd'}\n"
        f"acl_file {tmp_path / 'acl'}\n"
        "persistence false\n",
    )
    bridge = MqttBridge(
        database,
        BrokerEndpoint.from_url(
            f"mqtt://127.0.0.1:{port}", username=BRIDGE_USER, password=BRIDGE_SECRET
        ),
        client_id="cw-bridge-passwd",
    )
    try:
        await bridge.start()
        refusals = [
            await _connack(port, device, "cwd_wrong"),
            await _connack(port, revoked, revoked.secret),
        ]
        client = DeviceClient(
            "127.0.0.1",
            port,
            client_id=device.serial,
            username=device.serial,
            password=device.secret,
            protocol=paho.MQTTv5,
        )
        connack = await client.connect()
        await client.publish(other.topic("telemetry"), telemetry("forged"))
        await client.publish(device.topic("telemetry"), telemetry("own"))
        await wait_until(lambda: _stored(database, device, 2))
        await client.disconnect()
    finally:
        await bridge.stop()
        process.terminate()
        process.wait(10)
    assert refusals == [NOT_AUTHORIZED, NOT_AUTHORIZED]
    assert connack is not None
    assert connack.value == 0
    assert await position_count(database, other) == 0
    assert bridge.store.counts == {"stored": 1}
