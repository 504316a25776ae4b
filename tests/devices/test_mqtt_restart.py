"""A broker restart loses no QoS 1 message: a private Mosquitto with persistence is
restarted in the middle of a recorder's QoS 1 stream, while the bridge is away (its
persistent session queues at the broker what comes meanwhile); the recorder reconnects
and resends what was unacknowledged, the bridge comes back, and every message is stored
exactly once.

The restart is Mosquitto's ordinary one (SIGTERM, which writes its persistence file).  A
hard kill loses what arrived since the last autosave unless `autosave_on_changes` is on:
that configuration is the second case (SIGKILL, autosave after every change)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from citywitness.devices.models import DeviceMessageSeen
from citywitness.devices.mqtt_bridge import BrokerEndpoint, MqttBridge
from citywitness.kit.db import Database
from tests.devices.test_mqtt_support import (
    Device,
    free_port,
    make_device,
    mosquitto_binary,
    position_count,
    start_mosquitto,
    telemetry,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto is not installed"),
]

MESSAGES = 60
RESTART_AFTER = 20


@pytest.fixture
async def database(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=4, max_overflow=2)
    yield db
    await db.dispose()


def _config(directory: Path, *, every_change: bool) -> str:
    autosave = "autosave_on_changes true\nautosave_interval 1\n" if every_change else ""
    return (
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {directory}/\n"
        "max_queued_messages 0\n"
        f"{autosave}"
    )


class Recorder:
    """A recorder's paho client that reconnects by itself and keeps its session."""

    def __init__(self, port: int, device: Device) -> None:
        self.device = device
        self.connected = threading.Event()
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=device.serial, clean_session=False
        )
        client.reconnect_delay_set(0.2, 1)
        client.on_connect = lambda *_: self.connected.set()
        client.on_disconnect = lambda *_: self.connected.clear()
        client.connect(host="127.0.0.1", port=port, keepalive=5)
        client.loop_start()
        self.client = client
        self.sent: list[paho.MQTTMessageInfo] = []

    def publish(self, n: int) -> None:
        """Like firmware, hold new messages while offline (paho resends the unacknowledged
        ones of its session itself when it reconnects)."""
        assert self.connected.wait(30)
        self.sent.append(
            self.client.publish(self.device.topic("telemetry"), telemetry(f"m{n}"), qos=1)
        )

    def all_acknowledged(self) -> bool:
        return all(info.is_published() for info in self.sent)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def _messages(database: Database, device: Device) -> int:
    async with database.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(DeviceMessageSeen)
            .where(DeviceMessageSeen.recorder_id == device.identity.device_id)
        )
    return int(count or 0)


async def _true(value: bool) -> bool:
    return value


@pytest.mark.parametrize(
    ("stop", "every_change"),
    [(signal.SIGTERM, False), (signal.SIGKILL, True)],
    ids=["restart", "kill-with-autosave-on-changes"],
)
async def test_a_broker_restart_mid_stream_loses_no_qos1_message(
    database: Database, tmp_path: Path, stop: signal.Signals, every_change: bool
) -> None:
    port = free_port()
    config = _config(tmp_path, every_change=every_change)
    broker = start_mosquitto(port, tmp_path, config)
    device = await make_device(database)
    endpoint = BrokerEndpoint.from_url(f"mqtt://127.0.0.1:{port}")
    first = MqttBridge(database, endpoint, client_id="bridge-restart", batch_size=10)
    await first.start()  # makes the bridge's persistent session...
    await first.stop()  # ...which queues what comes while the bridge is away
    bridge = MqttBridge(database, endpoint, client_id="bridge-restart", batch_size=10)
    restarted: subprocess.Popen[bytes] | None = None
    recorder = Recorder(port, device)
    try:
        assert await asyncio.to_thread(recorder.connected.wait, 10)
        for n in range(MESSAGES):
            if n == RESTART_AFTER:  # 20 messages wait at the broker for the bridge
                await wait_until(lambda: _true(recorder.all_acknowledged()))
                broker.send_signal(stop)
                broker.wait(10)
                restarted = start_mosquitto(port, tmp_path, config)
            await asyncio.to_thread(recorder.publish, n)
        await wait_until(lambda: _true(recorder.all_acknowledged()), seconds=30)
        await bridge.start()
        await wait_until(lambda: _stored(database, device, 2 * MESSAGES), seconds=30)
        await asyncio.sleep(1)  # anything redelivered late would show now
    finally:
        recorder.close()
        await bridge.stop()
        for process in (broker, restarted):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
    assert restarted is not None
    assert await _messages(database, device) == MESSAGES
    assert await position_count(database, device) == 2 * MESSAGES
    assert bridge.store.counts["stored"] == MESSAGES


async def _stored(database: Database, device: Device, count: int) -> bool:
    return await position_count(database, device) == count
