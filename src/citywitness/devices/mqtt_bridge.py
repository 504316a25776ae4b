"""The bridge: the platform's own MQTT client that stores what recorders publish.

It subscribes to `cw/+/+/{telemetry,event,status}` at QoS 1 with a persistent session
(clean session off), stores each batch of messages in one transaction through
`telemetry.accept_message`, and acknowledges the messages (PUBACK) only after that
transaction committed.  A bridge that dies before committing leaves its messages
unacknowledged, so the broker delivers them again to the next bridge with the same client id;
dedup on `msg_id` makes a redelivery harmless.

Who sent a message is read from its topic (`cw/<department>/<serial>/<kind>`): the broker
lets a recorder publish only to its own topics (the embedded broker's ACL plugin, or the
ACL file / dynamic-security roles of an external broker), so the topic names the sender.
An external broker without ACLs (anonymous Mosquitto) makes that trust void: see
docs/devices.md.

paho's network loop runs in its own thread; messages cross into asyncio through a queue.
Acknowledgements name the connection they belong to: after a reconnect the old packet ids
mean nothing (the broker redelivers those messages), so they are not acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from citywitness.devices.broker import MqttStartupError
from citywitness.devices.mqtt_store import MessageStore, Received
from citywitness.devices.telemetry import TelemetryLimits
from citywitness.devices.topics import ROOT, command_topic
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database

log = logging.getLogger(__name__)

UP_SUBSCRIPTIONS = tuple(f"{ROOT}/+/+/{kind}" for kind in ("telemetry", "event", "status"))
_NEVER_EXPIRES = 0xFFFFFFFF


class MqttUnavailable(RuntimeError):
    """The broker did not take a message in time (the bridge is not connected)."""


@dataclass(frozen=True)
class BrokerEndpoint:
    """Where the bridge connects and as whom."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    mqtt5: bool = False  # amqtt speaks 3.1.1 only; MQTT 5 lets the bridge set its in-flight window

    @classmethod
    def from_url(
        cls, url: str, *, username: str | None = None, password: str | None = None
    ) -> BrokerEndpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or not parts.port:
            raise MqttStartupError(
                f"mqtt.url must be mqtt://host:port or mqtts://host:port, not {url!r}"
            )
        return cls(
            host=parts.hostname,
            port=parts.port,
            username=username,
            password=password,
            tls=parts.scheme == "mqtts",
            mqtt5=True,
        )


@dataclass
class _Connection:
    """State shared with paho's thread (guarded by `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0
    connected: bool = False
    last_refusal: str | None = None


class MqttBridge:
    """Subscribe, store in batches, acknowledge after commit; publish commands downstream."""

    def __init__(
        self,
        database: Database,
        endpoint: BrokerEndpoint,
        *,
        client_id: str,
        batch_size: int = 200,
        keepalive: int = 30,
        limits: TelemetryLimits | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self.store = MessageStore(database, limits)
        self._batch_size = batch_size
        self._keepalive = keepalive
        self._clock = clock
        self._state = _Connection()
        self._queue: asyncio.Queue[Received] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribed: asyncio.Event | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._batch: asyncio.Task[None] | None = None
        self._client = self._make_client()

    # -- paho side (runs in paho's network thread) --------------------------------------

    def _make_client(self) -> paho.Client:
        protocol = paho.MQTTv5 if self.endpoint.mqtt5 else paho.MQTTv311
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=None if self.endpoint.mqtt5 else False,
            protocol=protocol,
            manual_ack=True,
        )
        if self.endpoint.username is not None:
            client.username_pw_set(self.endpoint.username, self.endpoint.password)
        if self.endpoint.tls:
            client.tls_set()
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(
        self, client: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        with self._state.lock:
            if reason.is_failure:
                self._state.last_refusal = str(reason)
                return
            self._state.generation += 1
            self._state.connected = True
            self._state.last_refusal = None
        client.subscribe([(topic, 1) for topic in UP_SUBSCRIPTIONS])

    def _on_subscribe(
        self, _c: paho.Client, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Any
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            with self._state.lock:
                self._state.last_refusal = "subscription refused"
            return
        if self._loop is not None and self._subscribed is not None:
            self._loop.call_soon_threadsafe(self._subscribed.set)

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, _r: ReasonCode, _p: Any) -> None:
        with self._state.lock:
            self._state.generation += 1  # packet ids of the old connection are void now
            self._state.connected = False

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        received = Received(
            topic=message.topic,
            payload=bytes(message.payload),
            mid=message.mid,
            qos=message.qos,
            generation=self._state.generation,
            received_at=self._clock(),
        )
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, received)

    # -- asyncio side --------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._state.connected

    async def start(self, *, connect_seconds: float = 10.0) -> None:
        """Connect, subscribe and start storing; MqttStartupError if that fails in time."""
        self._loop = asyncio.get_running_loop()
        self._subscribed = asyncio.Event()
        properties = None
        if self.endpoint.mqtt5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = _NEVER_EXPIRES
            properties.ReceiveMaximum = min(65535, max(20, self._batch_size * 2))
        self._client.connect_async(
            self.endpoint.host,
            self.endpoint.port,
            keepalive=self._keepalive,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()
        try:
            await asyncio.wait_for(self._subscribed.wait(), connect_seconds)
        except TimeoutError as exc:
            await self._halt_client()
            reason = self._state.last_refusal or "no answer"
            raise MqttStartupError(
                f"the MQTT bridge could not connect to {self.endpoint.host}:{self.endpoint.port} "
                f"({reason}); check mqtt.url, mqtt.username and mqtt.password"
            ) from exc
        self._consumer = asyncio.create_task(self._consume(), name="mqtt-bridge")
        log.info(
            "mqtt bridge subscribed",
            extra={"host": self.endpoint.host, "port": self.endpoint.port},
        )

    async def stop(self) -> None:
        """Finish the batch in hand, then disconnect (unacknowledged messages stay queued)."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
        if self._batch is not None:
            await asyncio.gather(self._batch, return_exceptions=True)
        await self._halt_client()

    async def _halt_client(self) -> None:
        await asyncio.to_thread(self._client.disconnect)
        await asyncio.to_thread(self._client.loop_stop)

    async def readiness(self) -> str | None:
        if self._consumer is None or self._consumer.done():
            return "mqtt bridge not running"
        return None if self.connected else "mqtt bridge not connected"

    async def _consume(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._batch = asyncio.create_task(self._store_and_ack(batch))
            await asyncio.shield(self._batch)  # stop() waits for it rather than cutting it
            self._batch = None

    async def _store_and_ack(self, batch: list[Received]) -> None:
        await self.store.store_with_retry(batch)
        with self._state.lock:
            current = self._state.generation
            for item in batch:
                if item.qos > 0 and item.generation == current:
                    self._client.ack(item.mid, item.qos)

    async def publish_command(
        self, department_code: str, serial: str, payload: bytes, *, wait_seconds: float = 10.0
    ) -> None:
        """Publish a command to one recorder at QoS 1; return once the broker took it."""
        info = self._client.publish(command_topic(department_code, serial), payload, qos=1)
        try:
            await asyncio.to_thread(info.wait_for_publish, wait_seconds)
        except (RuntimeError, ValueError) as exc:
            raise MqttUnavailable(f"the command was not published: {exc}") from exc
        if not info.is_published():
            raise MqttUnavailable("the MQTT broker did not take the command in time")
