"""The simulator's MQTT client against the real Mosquitto on 127.0.0.1:1883: QoS 1 publish
acknowledged, subscription delivery, last will on a cut connection and none on a clean one.
Topics are unique per run so that other users of the shared broker do not interfere."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from citywitness.simulator.mqtt_client import (
    ConnectionRefused,
    MqttClient,
    MqttError,
    Will,
    connect_packet,
    publish_packet,
)

HOST, PORT = "127.0.0.1", 1883


def _listening() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, PORT)) == 0


needs_mosquitto = pytest.mark.skipif(not _listening(), reason="no Mosquitto on 127.0.0.1:1883")


def test_packets_are_encoded_as_mqtt_3_1_1() -> None:
    packet = connect_packet(
        "rec-1", username="rec-1", password="s", keepalive=30, clean_session=True, will=None
    )
    assert packet[0] == 0x10
    assert packet[2:10] == b"\x00\x04MQTT\x04\xc2"  # level 4; username, password, clean
    assert packet[10:12] == b"\x00\x1e"
    big = publish_packet("t", b"x" * 200, qos=1, packet_id=7, dup=True)
    assert big[0] == 0x3A  # PUBLISH, DUP, QoS 1
    assert big[1:3] == bytes([0x80 | (205 % 128), 205 // 128])  # remaining length 205


async def _collect(topic_root: str) -> tuple[MqttClient, list[tuple[str, bytes]]]:
    got: list[tuple[str, bytes]] = []
    watcher = MqttClient(
        HOST,
        PORT,
        client_id=f"w-{uuid.uuid4().hex[:12]}",
        on_message=lambda t, p: got.append((t, p)),
    )
    await watcher.connect()
    assert await watcher.subscribe(f"{topic_root}/#") == 1
    return watcher, got


async def _until(condition: object, seconds: float = 5.0) -> None:
    for _ in range(int(seconds * 20)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)


@needs_mosquitto
async def test_publish_subscribe_and_last_will() -> None:
    root = f"cwsimtest/{uuid.uuid4().hex}"
    watcher, got = await _collect(root)
    cut = MqttClient(HOST, PORT, client_id=f"c-{uuid.uuid4().hex[:12]}", keepalive=10,
                     will=Will(f"{root}/will", b"gone"))  # fmt: skip
    await cut.connect()
    for n in range(3):
        await cut.publish(f"{root}/data", f"m{n}".encode())
    cut.abort()
    assert not cut.connected
    with pytest.raises(MqttError):
        await cut.publish(f"{root}/data", b"after")
    clean = MqttClient(HOST, PORT, client_id=f"d-{uuid.uuid4().hex[:12]}",
                       will=Will(f"{root}/will", b"never"))  # fmt: skip
    await clean.connect()
    await clean.publish(f"{root}/data", b"m3")
    await clean.disconnect()
    await _until(lambda: len(got) >= 5)
    await asyncio.sleep(0.3)
    await watcher.disconnect()
    assert sorted(got) == sorted(
        [(f"{root}/data", f"m{n}".encode()) for n in range(4)] + [(f"{root}/will", b"gone")]
    )


async def test_a_refused_or_missing_broker_is_an_error() -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    with pytest.raises(MqttError):
        await MqttClient("127.0.0.1", port, client_id="nobody").connect(wait_seconds=2)
    assert issubclass(ConnectionRefused, MqttError)
