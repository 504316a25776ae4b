"""MQTT telemetry end to end: recorder PUBLISH (QoS 1) -> broker -> bridge -> stored rows.

An embedded PostgreSQL in a temporary directory is migrated and given DEVICES recorders.
Three measurements of MESSAGES telemetry messages (one position each, ~200 bytes), in the
same run:

1. broker alone (baseline): the same publishers, a plain subscriber that only counts (the
   bridge account, auto-acknowledging, nothing stored);
2. end to end: the bridge subscribed, messages stored by `accept_message` in batches and
   acknowledged after commit; timed until the last message is committed;
3. storage alone: the same messages handed straight to the bridge's store (no MQTT).

Prints messages per second and the ratios end-to-end / broker and end-to-end / storage.
`--external mqtt://127.0.0.1:1883` runs 1 and 2 against that broker (anonymous) instead of
the embedded amqtt broker.  Timing is noisy on a shared 2-core machine: compare the ratios.

    .venv/bin/python bench/bench_mqtt.py --messages 5000 --devices 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.devices.broker import EmbeddedBroker
from citywitness.devices.credentials import issue_credential
from citywitness.devices.models import Recorder, RecorderState
from citywitness.devices.mqtt_bridge import (
    RECEIVE_MAXIMUM,
    UP_SUBSCRIPTIONS,
    BrokerEndpoint,
    MqttBridge,
)
from citywitness.devices.mqtt_store import MessageStore, Received
from citywitness.devices.state import ensure_state_row
from citywitness.kit import migrate
from citywitness.kit.db import Database

PUBLIC_SECURITY = uuid.UUID("00000000-0000-4000-8000-000000000001")
DEPARTMENT = "public-security"


async def make_devices(db: Database, count: int) -> list[tuple[str, str]]:
    devices = []
    async with db.transaction() as session:
        for _ in range(count):
            serial = f"B{uuid.uuid4().hex[:10].upper()}"
            recorder = Recorder(
                id=uuid.uuid4(),
                serial=serial,
                department_id=PUBLIC_SECURITY,
                state=RecorderState.ACTIVE.value,
            )
            session.add(recorder)
            await session.flush()
            await ensure_state_row(session, recorder.id)
            devices.append((serial, (await issue_credential(session, recorder.id)).secret))
    return devices


def payload(n: int) -> bytes:
    at = datetime.now(UTC).isoformat()
    position = {"lat": 31.2 + n * 1e-6, "lon": 121.4, "fix": "gps", "at": at, "speed_mps": 1.2}
    return json.dumps({"msg_id": uuid.uuid4().hex, "positions": [position]}).encode()


def publish_all(
    host: str, port: int, devices: list[tuple[str, str]], total: int, auth: bool
) -> None:
    """Each device publishes its share at QoS 1 from its own connection, all at once."""
    share = total // len(devices)

    def run(serial: str, secret: str) -> None:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=serial)
        if auth:
            client.username_pw_set(serial, secret)
        client.max_inflight_messages_set(100)
        client.connect(host, port)
        client.loop_start()
        infos = [
            client.publish(f"cw/{DEPARTMENT}/{serial}/telemetry", payload(n), qos=1)
            for n in range(share)
        ]
        for info in infos:
            info.wait_for_publish(120)
        client.disconnect()
        client.loop_stop()

    threads = [threading.Thread(target=run, args=device) for device in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def broker_alone(
    endpoint: BrokerEndpoint, devices: list[tuple[str, str]], total: int, auth: bool
) -> float:
    got = threading.Event()
    count = [0]
    expected = (total // len(devices)) * len(devices)

    def on_message(_c: object, _u: object, _m: object) -> None:
        count[0] += 1
        if count[0] >= expected:
            got.set()

    # MQTT 5 where the broker speaks it, with the bridge's in-flight window: a 3.1.1
    # subscriber gets Mosquitto's default 20 in flight + 1,000 queued, and a burst drops
    protocol = paho.MQTTv5 if endpoint.mqtt5 else paho.MQTTv311
    sub = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-count-{uuid.uuid4().hex[:6]}",
        protocol=protocol,
    )
    if endpoint.username:
        sub.username_pw_set(endpoint.username, endpoint.password)
    subscribed = threading.Event()
    sub.on_message = on_message
    sub.on_subscribe = lambda *_: subscribed.set()
    properties = None
    if endpoint.mqtt5:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
    sub.connect(endpoint.host, endpoint.port, properties=properties)
    sub.subscribe([(topic, 1) for topic in UP_SUBSCRIPTIONS])
    sub.loop_start()
    subscribed.wait(30)
    started = time.perf_counter()
    publish_all(endpoint.host, endpoint.port, devices, total, auth)
    if not got.wait(120):
        print(f"broker alone: only {count[0]} of {expected} received")
    took = time.perf_counter() - started
    sub.disconnect()
    sub.loop_stop()
    return count[0] / took


async def end_to_end(
    db: Database, endpoint: BrokerEndpoint, devices: list[tuple[str, str]], total: int, auth: bool
) -> float:
    bridge = MqttBridge(
        db, endpoint, client_id=f"bench-bridge-{uuid.uuid4().hex[:6]}", batch_size=200
    )
    await bridge.start()
    expected = (total // len(devices)) * len(devices)
    started = time.perf_counter()
    await asyncio.to_thread(publish_all, endpoint.host, endpoint.port, devices, total, auth)
    deadline = time.monotonic() + 120
    while bridge.store.counts["stored"] < expected:
        if time.monotonic() > deadline:  # a broker that drops (Mosquitto's queue limit)
            print(f"end to end: only {bridge.store.counts['stored']} of {expected} stored")
            break
        await asyncio.sleep(0.01)
    took = time.perf_counter() - started
    await bridge.stop()
    return expected / took


async def storage_alone(db: Database, devices: list[tuple[str, str]], total: int) -> float:
    store = MessageStore(db)
    now = datetime.now(UTC)
    items = [
        Received(
            f"cw/{DEPARTMENT}/{devices[n % len(devices)][0]}/telemetry", payload(n), n, 1, 0, now
        )
        for n in range(total)
    ]
    started = time.perf_counter()
    for start in range(0, total, 200):
        await store.store(items[start : start + 200])
    return total / (time.perf_counter() - started)


async def measure(url: str, args: argparse.Namespace) -> None:
    db = Database(url, pool_size=4, max_overflow=2)
    devices = await make_devices(db, args.devices)
    broker: EmbeddedBroker | None = None
    if args.external:
        endpoint, auth, name = BrokerEndpoint.from_url(args.external), False, args.external
    else:
        broker = EmbeddedBroker(db, host="127.0.0.1", port=args.port)
        await broker.start()
        endpoint = BrokerEndpoint(
            "127.0.0.1", args.port, broker.bridge_username, broker.bridge_secret
        )
        auth, name = True, "embedded amqtt"
    try:
        base = await asyncio.to_thread(broker_alone, endpoint, devices, args.messages, auth)
        e2e = await end_to_end(db, endpoint, devices, args.messages, auth)
        store = await storage_alone(db, devices, args.messages)
    finally:
        if broker is not None:
            await broker.stop()
        await db.dispose()
    print(f"broker: {name}; {args.messages} messages from {args.devices} recorders, QoS 1")
    print(f"broker alone (publish -> subscriber) : {base:9.0f} msg/s")
    print(f"end to end (publish -> committed)    : {e2e:9.0f} msg/s")
    print(f"storage alone (the bridge's store)   : {store:9.0f} msg/s")
    print(f"ratio end-to-end / broker alone      : {e2e / base:9.2f}")
    print(f"ratio end-to-end / storage alone     : {e2e / store:9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--port", type=int, default=18830, help="embedded broker port")
    parser.add_argument("--external", help="mqtt://host:port of an anonymous broker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-mqtt-") as tmp:
        server = EmbeddedPostgres(Path(tmp), database="citywitness")
        url = server.start()
        try:
            migrate.upgrade(url)
            asyncio.run(measure(url, args))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
