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
import time
from collections import deque
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
RECEIVE_MAXIMUM = 65535  # MQTT 5's largest in-flight window (about 20 MB of telemetry)
LAG_WARNING_SECONDS = 5.0  # a batch whose oldest message waited longer: the bridge is behind
_LAG_LOG_EVERY_SECONDS = 30.0


def subscriptions(shared_group: str | None) -> list[str]:
    """The filters the bridge subscribes to; `$share/<group>/...` spreads them over bridges."""
    if shared_group is None:
        return list(UP_SUBSCRIPTIONS)
    return [f"$share/{shared_group}/{topic}" for topic in UP_SUBSCRIPTIONS]


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
    inbox: deque[Received] = field(default_factory=deque)  # paho appends, asyncio takes
    wake_pending: bool = False  # one wake-up call in flight for any number of messages


@dataclass
class BridgeLag:
    """How far behind the bridge is: what waits, and how long the last batch waited."""

    backlog: int = 0  # received, not yet in a batch
    in_flight: int = 0  # in batches being stored
    last_lag_seconds: float = 0.0  # oldest message of the last stored batch: arrival to commit
    max_lag_seconds: float = 0.0
    behind_since: float | None = None  # monotonic time the lag first passed the warning
    batches: int = 0
    _logged_at: float = 0.0


@dataclass(frozen=True, slots=True)
class _Order:
    """How a batch waits on the ones before it (see `MqttBridge._consume`)."""

    wait_first: asyncio.Future[None] | None  # stored before this batch may start
    earlier: asyncio.Future[None] | None  # stored before this batch counts as stored
    stored: asyncio.Future[None]  # this batch and every earlier one are stored


class MqttBridge:
    """Subscribe, store in batches, acknowledge after commit; publish commands downstream."""

    def __init__(
        self,
        database: Database,
        endpoint: BrokerEndpoint,
        *,
        client_id: str,
        batch_size: int = 200,
        concurrency: int = 2,
        shared_group: str | None = None,
        keepalive: int = 30,
        limits: TelemetryLimits | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self.store = MessageStore(database, limits)
        self.lag = BridgeLag()
        self._batch_size = batch_size
        self._concurrency = max(1, concurrency)
        self._subscriptions = subscriptions(shared_group)
        self._keepalive = keepalive
        self._clock = clock
        self._state = _Connection()
        self._arrived = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribed: asyncio.Event | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
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
        client.subscribe([(topic, 1) for topic in self._subscriptions])

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
        state = self._state
        state.inbox.append(
            Received(
                topic=message.topic,
                payload=bytes(message.payload),  # already bytes: no copy
                mid=message.mid,
                qos=message.qos,
                generation=state.generation,
                received_at=self._clock(),
            )
        )
        if not state.wake_pending and self._loop is not None:
            state.wake_pending = True  # one cross-thread call per burst, not per message
            self._loop.call_soon_threadsafe(self._arrived.set)

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
            # As many unacknowledged messages as MQTT allows: a broker counts them against
            # its in-flight window, not its queue (Mosquitto's max_queued_messages, 1,000 by
            # default, drops beyond it), so a bridge that falls behind holds them here,
            # where `lag.backlog` shows them, instead of the broker dropping them.
            properties.ReceiveMaximum = RECEIVE_MAXIMUM
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
        """Finish the batches in hand, then disconnect (unacknowledged messages stay queued)."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
        await asyncio.gather(*self._batches, return_exceptions=True)
        await self._halt_client()

    async def _halt_client(self) -> None:
        await asyncio.to_thread(self._client.disconnect)
        await asyncio.to_thread(self._client.loop_stop)

    async def readiness(self) -> str | None:
        if self._consumer is None or self._consumer.done():
            return "mqtt bridge not running"
        return None if self.connected else "mqtt bridge not connected"

    async def _next_batch(self) -> list[Received]:
        inbox = self._state.inbox
        while not inbox:
            self._arrived.clear()
            self._state.wake_pending = False
            if inbox:  # arrived between the check and the clear: no wake-up was sent for it
                break
            await self._arrived.wait()
        batch = [inbox.popleft() for _ in range(min(self._batch_size, len(inbox)))]
        self.lag.backlog = len(inbox)
        return batch

    async def _consume(self) -> None:
        """Up to `concurrency` batches stored at once; acknowledged in the order received.

        Only batches of telemetry alone overlap: positions carry their own times and are
        deduplicated, so their commit order does not matter.  A batch holding an event or a
        status message (a command acknowledgement, an SOS, going offline) is stored only
        after every earlier batch, and the next batch after it, so a recorder's events keep
        their order.
        """
        slots = asyncio.Semaphore(self._concurrency)
        acked: asyncio.Future[None] | None = None  # the previous batch's acknowledgements
        stored: asyncio.Future[None] | None = None  # every earlier batch is stored
        previous_ordered = False
        while True:
            batch = await self._next_batch()
            ordered = any(not item.topic.endswith("/telemetry") for item in batch)
            await slots.acquire()
            loop = asyncio.get_running_loop()
            done: asyncio.Future[None] = loop.create_future()
            mine: asyncio.Future[None] = loop.create_future()
            order = _Order(
                wait_first=stored if (ordered or previous_ordered) else None,
                earlier=stored,
                stored=mine,
            )
            task = asyncio.create_task(self._store_and_ack(batch, acked, done, slots, order))
            self._batches.add(task)  # stop() waits for it rather than cutting it
            task.add_done_callback(self._batches.discard)
            acked, stored, previous_ordered = done, mine, ordered

    async def _store_and_ack(
        self,
        batch: list[Received],
        before: asyncio.Future[None] | None,
        done: asyncio.Future[None],
        slots: asyncio.Semaphore,
        order: _Order | None = None,
    ) -> None:
        self.lag.in_flight += len(batch)
        try:
            if order is not None and order.wait_first is not None:
                await asyncio.shield(order.wait_first)
            await self.store.store_with_retry(batch)
            if order is not None and order.earlier is not None:
                await asyncio.shield(order.earlier)  # "stored" means: with all before it
            if order is not None and not order.stored.done():
                order.stored.set_result(None)
            if before is not None:
                await asyncio.shield(before)  # MQTT: PUBACKs in the order of the PUBLISHes
            with self._state.lock:
                current = self._state.generation
                for item in batch:
                    if item.qos > 0 and item.generation == current:
                        self._client.ack(item.mid, item.qos)
            self._note_lag(batch[0].received_at)
        finally:
            self.lag.in_flight -= len(batch)
            if order is not None and not order.stored.done():
                order.stored.set_result(None)
            if not done.done():
                done.set_result(None)
            slots.release()

    def _note_lag(self, oldest: datetime) -> None:
        lag = self.lag
        lag.batches += 1
        lag.last_lag_seconds = max(0.0, (self._clock() - oldest).total_seconds())
        lag.max_lag_seconds = max(lag.max_lag_seconds, lag.last_lag_seconds)
        now = time.monotonic()
        if lag.last_lag_seconds < LAG_WARNING_SECONDS:
            if lag.behind_since is not None:
                log.info("mqtt bridge caught up")
            lag.behind_since = None
            return
        lag.behind_since = lag.behind_since or now
        if now - lag._logged_at >= _LAG_LOG_EVERY_SECONDS:  # noqa: SLF001 - its own record
            lag._logged_at = now  # noqa: SLF001
            log.warning(
                "mqtt bridge falling behind",
                extra={
                    "lag_seconds": round(lag.last_lag_seconds, 1),
                    "backlog": lag.backlog,
                    "behind_for_seconds": round(now - lag.behind_since, 1),
                },
            )

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
