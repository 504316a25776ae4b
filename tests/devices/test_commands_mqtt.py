"""Commands end to end over MQTT: the API issues, a real Procrastinate worker runs the
delivery job, the embedded broker (or the shared Mosquitto) carries the command to a paho
client acting as the recorder, and the recorder's `command_ack` events come back through
the bridge.  Real sockets, real broker, real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from citywitness.access.levels import Role
from citywitness.app import create_app
from citywitness.devices.broker import EmbeddedBroker
from citywitness.devices.commands_publisher import publishing
from citywitness.devices.mqtt_bridge import BrokerEndpoint, MqttBridge
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.worker import build_worker, open_jobs, run_worker
from tests.devices.test_mqtt_support import (
    Device,
    DeviceClient,
    free_port,
    make_device,
    telemetry,
    wait_until,
)
from tests.factories import PUBLIC_SECURITY, Actor, make_actor

pytestmark = pytest.mark.slow

API = "/api/v1/devices"


@pytest.fixture
async def database(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=6, max_overflow=4)
    yield db
    await db.dispose()


@pytest.fixture
async def broker(database: Database) -> AsyncIterator[EmbeddedBroker]:
    broker = EmbeddedBroker(database, host="127.0.0.1", port=free_port())
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
    bridge = MqttBridge(database, endpoint, client_id=f"bridge-{uuid.uuid4().hex[:8]}")
    await bridge.start()
    yield bridge
    await bridge.stop()


def _settings(tmp_path: Path, database_url: str, **mqtt: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database={"url": database_url},
        jobs={"in_process_worker": False, "periodic": False},
        mqtt=mqtt,
    )


@pytest.fixture
def cmd_settings(tmp_path: Path, fresh_database_url: str) -> Settings:
    return _settings(tmp_path, fresh_database_url)


@pytest.fixture
async def api(
    cmd_settings: Settings, database: Database, fresh_database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(cmd_settings, database))
    async with (
        open_jobs(fresh_database_url),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as c,
    ):
        yield c


@pytest.fixture
async def operator(database: Database) -> Actor:
    return await make_actor(database, roles={PUBLIC_SECURITY: [Role.OPERATOR]})


@pytest.fixture
async def device(database: Database) -> Device:
    return await make_device(database)


async def run_jobs(settings: Settings, database: Database) -> None:
    """A worker in this process until no job is ready (steps scheduled later stay queued)."""
    worker = build_worker(settings, database, queues=["default"], wait=False)
    await asyncio.wait_for(run_worker(worker, settings, database), 30)


async def make_steps_due(database: Database, command_id: str) -> int:
    """Bring the command's next, scheduled delivery step forward to now."""
    async with database.transaction() as session:
        result = await session.execute(
            text(
                "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo' "
                "AND args->>'command_id' = :id RETURNING id"
            ),
            {"id": command_id},
        )
        return len(result.all())


async def recorder(broker_port: int, device: Device) -> DeviceClient:
    client = DeviceClient(
        "127.0.0.1",
        broker_port,
        client_id=device.serial,
        username=device.serial,
        password=device.secret,
    )
    connack = await client.connect()
    assert connack is not None
    assert connack.value == 0
    assert [r.value for r in await client.subscribe(device.command_topic)] == [1]
    return client


def command_ack(command_id: str, status: str, detail: str | None = None) -> bytes:
    details: dict[str, Any] = {"command_id": command_id, "status": status}
    if detail is not None:
        details["detail"] = detail
    body = {
        "msg_id": uuid.uuid4().hex,
        "kind": "command_ack",
        "at": datetime.now(UTC).isoformat(),
        "details": details,
    }
    return json.dumps(body).encode()


async def get_command(api: httpx.AsyncClient, actor: Actor, command_id: str) -> dict[str, Any]:
    response = await api.get(f"{API}/commands/{command_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def issue(
    api: httpx.AsyncClient, actor: Actor, device: Device, body: dict[str, Any]
) -> dict[str, Any]:
    response = await api.post(
        f"{API}/{device.identity.device_id}/commands", json=body, headers=actor.headers
    )
    assert response.status_code == 202, response.text
    found: dict[str, Any] = response.json()
    return found


async def _state_is(api: httpx.AsyncClient, actor: Actor, command_id: str, state: str) -> bool:
    return bool((await get_command(api, actor, command_id))["state"] == state)


async def _got(client: DeviceClient, count: int) -> bool:
    return len(client.messages) >= count


def transitions(command: dict[str, Any]) -> list[tuple[str | None, str, str, str | None]]:
    return [
        (e["from_state"], e["to_state"], e["source"], e["transport"]) for e in command["events"]
    ]


async def test_command_is_published_retried_and_acknowledged_over_mqtt(
    *,
    api: httpx.AsyncClient,
    database: Database,
    broker: EmbeddedBroker,
    bridge: MqttBridge,
    cmd_settings: Settings,
    operator: Actor,
    device: Device,
) -> None:
    client = await recorder(broker.port, device)
    created = await issue(api, operator, device, {"kind": "start_recording"})
    command_id = created["id"]
    with publishing(bridge):
        await run_jobs(cmd_settings, database)
        await wait_until(lambda: _got(client, 1))
        sent = await get_command(api, operator, command_id)
        assert (sent["state"], sent["attempts"]) == ("sent", 1)
        # no acknowledgement: the next step publishes again
        assert await make_steps_due(database, command_id) == 1
        await run_jobs(cmd_settings, database)
        await wait_until(lambda: _got(client, 2))

    message = json.loads(client.messages[0].payload)
    assert message == {
        "type": "command",
        "command_id": command_id,
        "kind": "start_recording",
        "params": {},
        "consent_required": False,
        "expires_at": created["expires_at"],
    }
    assert client.messages[1].payload == client.messages[0].payload
    assert client.messages[0].topic == device.command_topic

    await client.publish(device.topic("event"), command_ack(command_id, "acknowledged"))
    await client.publish(device.topic("event"), command_ack(command_id, "succeeded", "on"))
    await wait_until(lambda: _state_is(api, operator, command_id, "succeeded"))
    await client.disconnect()

    command = await get_command(api, operator, command_id)
    assert (command["attempts"], command["detail"]) == (2, "on")
    assert transitions(command) == [
        (None, "pending", "user", None),
        ("pending", "sent", "platform", "mqtt"),
        ("sent", "acknowledged", "device", "mqtt"),
        ("acknowledged", "succeeded", "device", "mqtt"),
    ]
    # the step still queued finds the command finished and schedules nothing more
    assert await make_steps_due(database, command_id) == 1
    await run_jobs(cmd_settings, database)
    assert await make_steps_due(database, command_id) == 0


async def test_the_wearer_rejects_a_live_view_over_mqtt(
    *,
    api: httpx.AsyncClient,
    database: Database,
    broker: EmbeddedBroker,
    bridge: MqttBridge,
    cmd_settings: Settings,
    operator: Actor,
    device: Device,
) -> None:
    client = await recorder(broker.port, device)
    body = {"kind": "request_live_view", "reason": "officer requested backup"}
    created = await issue(api, operator, device, body)
    with publishing(bridge):
        await run_jobs(cmd_settings, database)
    await wait_until(lambda: _got(client, 1))
    message = json.loads(client.messages[0].payload)
    assert (message["kind"], message["consent_required"], message["params"]) == (
        "request_live_view",
        True,
        {"audio": True},
    )
    await client.publish(device.topic("event"), command_ack(created["id"], "rejected", "busy"))
    await wait_until(lambda: _state_is(api, operator, created["id"], "rejected"))
    await client.disconnect()
    command = await get_command(api, operator, created["id"])
    assert command["detail"] == "busy"
    assert transitions(command)[-1] == ("sent", "rejected", "device", "mqtt")


async def test_locate_now_succeeds_when_the_position_arrives_over_mqtt(
    *,
    api: httpx.AsyncClient,
    database: Database,
    broker: EmbeddedBroker,
    bridge: MqttBridge,
    cmd_settings: Settings,
    operator: Actor,
    device: Device,
) -> None:
    client = await recorder(broker.port, device)
    created = await issue(api, operator, device, {"kind": "locate_now"})
    with publishing(bridge):
        await run_jobs(cmd_settings, database)
    await wait_until(lambda: _got(client, 1))
    await client.publish(device.topic("event"), command_ack(created["id"], "acknowledged"))
    await wait_until(lambda: _state_is(api, operator, created["id"], "acknowledged"))
    await client.publish(device.topic("telemetry"), telemetry(lat=22.5431, lon=114.0579))
    assert await make_steps_due(database, created["id"]) == 1
    with publishing(bridge):
        await wait_until(lambda: _located(api, operator, created["id"], cmd_settings, database))
    await client.disconnect()
    command = await get_command(api, operator, created["id"])
    assert (command["result"]["lat"], command["result"]["lon"]) == (22.5441, 114.0579)
    assert transitions(command)[-1] == ("acknowledged", "succeeded", "platform", None)


async def _located(
    api: httpx.AsyncClient, actor: Actor, command_id: str, settings: Settings, db: Database
) -> bool:
    """Run the due delivery step (the position may still be on its way through the bridge)."""
    await make_steps_due(db, command_id)
    await run_jobs(settings, db)
    return await _state_is(api, actor, command_id, "succeeded")


def _listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


@pytest.mark.skipif(not _listening("127.0.0.1", 1883), reason="no Mosquitto on 127.0.0.1:1883")
async def test_a_worker_without_the_bridge_publishes_through_an_external_broker(
    *,
    tmp_path: Path,
    fresh_database_url: str,
    database: Database,
    api: httpx.AsyncClient,
    operator: Actor,
    device: Device,
) -> None:
    """A worker running apart (no bridge in its process) and Mosquitto: a short connection."""
    client = DeviceClient("127.0.0.1", 1883, client_id=device.serial)
    await client.connect()
    await client.subscribe(device.command_topic)
    created = await issue(api, operator, device, {"kind": "text_message", "params": {"text": "ok"}})
    apart = _settings(tmp_path, fresh_database_url, url="mqtt://127.0.0.1:1883")
    await run_jobs(apart, database)
    await wait_until(lambda: _got(client, 1))
    await client.disconnect()
    assert json.loads(client.messages[0].payload)["command_id"] == created["id"]
    assert (await get_command(api, operator, created["id"]))["state"] == "sent"
