"""The alert reaches the recorder's command topic through the real MQTT bridge (Mosquitto)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from citywitness.alerts.delivery import RecorderDelivery
from citywitness.devices.mqtt_bridge import BrokerEndpoint, MqttBridge
from citywitness.devices.topics import command_topic
from citywitness.kit.db import Database
from tests.alerts.helpers import drain, send_event
from tests.devices.helpers import make_enrolled

HOST, PORT = "127.0.0.1", 1883


def _listening() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, PORT)) == 0


pytestmark = pytest.mark.skipif(not _listening(), reason="no MQTT broker on 127.0.0.1:1883")


async def test_sos_alert_is_published_to_the_recorder(committed_db: Database) -> None:
    device = await make_enrolled(committed_db)
    topic = command_topic(device.identity.department_code, device.identity.serial)
    got: list[dict[str, Any]] = []
    subscribed, arrived = threading.Event(), threading.Event()
    recorder = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"rec-{uuid.uuid4().hex[:8]}")
    recorder.on_subscribe = lambda *_: subscribed.set()

    def on_message(_c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        got.append(json.loads(message.payload))
        arrived.set()

    recorder.on_message = on_message
    recorder.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
    recorder.connect(HOST, PORT)
    recorder.loop_start()
    bridge = MqttBridge(
        committed_db,
        BrokerEndpoint(host=HOST, port=PORT, mqtt5=True),
        client_id=f"cw-alerts-test-{uuid.uuid4().hex[:8]}",
    )
    await bridge.start()
    try:
        assert await asyncio.to_thread(subscribed.wait, 10)
        await send_event(committed_db, device, "sos")
        await drain(committed_db)
        assert await RecorderDelivery(committed_db, bridge).run_once() == 1
        assert await asyncio.to_thread(arrived.wait, 10)
    finally:
        await bridge.stop()
        recorder.loop_stop()
        recorder.disconnect()
    [command] = got
    assert (command["type"], command["kind"], command["severity"]) == ("alert", "sos", "critical")
    uuid.UUID(command["command_id"])
