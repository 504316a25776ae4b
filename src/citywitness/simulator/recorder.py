"""One virtual recorder: sensors, an outbox, and a sender over MQTT or HTTPS.

The sensor loop takes a fix every `fix_interval_s`, sends the fixes taken since the last
report every `report_interval_s` (one telemetry message, original timestamps), a status
every `status_interval_s`, and now and then an event (SOS, recording started/stopped, low
battery) or a network drop.  Every message goes through the outbox, in order, and leaves it
only once the platform took it (MQTT PUBACK at QoS 1, or the HTTPS answer): a message
whose answer was lost is sent again with the same `msg_id`, which the platform stores once.
During a drop the MQTT connection is cut without a DISCONNECT (the broker publishes the
last will) and messages queue; they are delivered after the reconnection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args

import httpx

from citywitness.devices.messages import EventKind
from citywitness.devices.topics import command_topic, up_topic
from citywitness.simulator.movement import Fix, Mover
from citywitness.simulator.mqtt_client import MqttClient, MqttError, Will
from citywitness.simulator.provision import API, Credential

log = logging.getLogger(__name__)

EVENT_KINDS = frozenset(get_args(EventKind))
ACK_EVENT = "command_ack"  # what the alerts domain waits for (docs/alerts.md)
HTTPS_PATHS = {"telemetry": "telemetry", "event": "events", "status": "status"}


@dataclass(frozen=True)
class Behaviour:
    """Fleet-wide rates; per recorder, per hour unless said otherwise."""

    fix_interval_s: float = 2.0
    report_interval_s: float = 10.0
    status_interval_s: float = 60.0
    sos_per_hour: float = 0.05
    drops_per_hour: float = 0.5
    drop_seconds: tuple[float, float] = (5.0, 40.0)
    recording_per_hour: float = 1.0
    keepalive_s: int = 60


@dataclass
class Outgoing:
    kind: str
    msg_id: str
    payload: dict[str, Any]
    positions: int = 0
    event: str | None = None
    attempts: int = 0
    queued_offline: bool = False


@dataclass
class Tally:
    """What one recorder sent and the platform took (the simulator's ground truth)."""

    messages: Counter[str] = field(default_factory=Counter)
    positions: int = 0
    events: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    resends: int = 0
    refused: int = 0
    drops: int = 0
    reconnects: int = 0
    delivered_after_drop: int = 0
    commands: int = 0
    sent_at: dict[str, float] | None = None  # msg_id -> wall time of the first send (benches)
    sos_pressed_at: list[float] = field(default_factory=list)  # wall time of each SOS press


def now() -> datetime:
    return datetime.now(UTC)


def stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class VirtualRecorder:
    def __init__(
        self,
        credential: Credential,
        mover: Mover,
        rng: random.Random,
        *,
        transport: str,
        behaviour: Behaviour,
        http: httpx.AsyncClient,
        mqtt_address: tuple[str, int] | None,
    ) -> None:
        self.credential = credential
        self.mover = mover
        self.rng = rng
        self.transport = transport
        self.behaviour = behaviour
        self.http = http
        self.mqtt_address = mqtt_address
        self.outbox: deque[Outgoing] = deque()
        self.wake = asyncio.Event()
        self.network_up = asyncio.Event()
        self.network_up.set()
        self.tally = Tally()
        self.fixes: list[Fix] = []
        self.battery = rng.uniform(55, 100)
        self.storage_mb = rng.randint(20_000, 60_000)
        self.signal = rng.randint(-100, -70)
        self.recording = False
        self.client: MqttClient | None = None

    @property
    def serial(self) -> str:
        return self.credential.serial

    # --- messages -------------------------------------------------------------------

    def _queue(self, item: Outgoing) -> None:
        item.queued_offline = not self.network_up.is_set()
        self.outbox.append(item)
        self.wake.set()

    def _health(self) -> dict[str, Any]:
        return {
            "battery_pct": round(self.battery, 1),
            "storage_free_mb": self.storage_mb,
            "signal_dbm": self.signal if self.network_up.is_set() else -125,
            "temperature_c": round(30 + self.rng.uniform(-2, 6), 1),
            "recording": self.recording,
        }

    def report(self) -> None:
        """Queue the fixes taken since the last report as one telemetry message."""
        while self.fixes:
            batch, self.fixes = self.fixes[:100], self.fixes[100:]
            payload = {
                "msg_id": str(uuid.uuid4()),
                "positions": [f.as_message() for f in batch],
                **self._health(),
            }
            self._queue(Outgoing("telemetry", payload["msg_id"], payload, positions=len(batch)))

    def status(self, state: str = "online") -> None:
        payload = {"msg_id": str(uuid.uuid4()), "at": stamp(now()), "state": state}
        payload.update(self._health())
        self._queue(Outgoing("status", payload["msg_id"], payload))

    def event(self, kind: str, **details: str | int | float | bool | None) -> None:
        if kind not in EVENT_KINDS:
            return
        at = now()
        msg_id = str(uuid.uuid4())
        payload = {
            "msg_id": msg_id,
            "kind": kind,
            "at": stamp(at),
            "position": self.mover.fix(at).as_message(),
            "details": details,
        }
        self._queue(Outgoing("event", msg_id, payload, event=kind))

    def press_sos(self) -> None:
        self.tally.sos_pressed_at.append(time.time())
        self.event("sos", trigger="button")

    def set_recording(self, on: bool, **details: str | int | float | bool | None) -> None:
        if on != self.recording:
            self.recording = on
            self.event("recording_started" if on else "recording_stopped", **details)

    # --- network --------------------------------------------------------------------

    async def drop(self, seconds: float) -> None:
        """Lose the network for `seconds`: the connection dies, messages queue."""
        if not self.network_up.is_set():
            return
        self.tally.drops += 1
        self.network_up.clear()
        if self.client is not None:
            self.client.abort()
        await asyncio.sleep(seconds)
        self.network_up.set()
        self.wake.set()

    def _on_command(self, topic: str, payload: bytes) -> None:  # noqa: ARG002 - one topic
        """Commands and alerts from the platform: acknowledged, and carried out when asked."""
        self.tally.commands += 1
        try:
            command = json.loads(payload)
        except ValueError:
            return
        if not isinstance(command, dict) or not isinstance(command.get("command_id"), str):
            return
        command_id = command["command_id"]
        self.event(ACK_EVENT, command_id=command_id, status="acknowledged")
        if command.get("type") != "command":
            return  # an alert for the officer: seeing it is all there is to do
        kind = command.get("kind")
        if kind in ("start_recording", "stop_recording"):
            self.set_recording(kind == "start_recording", trigger="command")
        elif kind == "locate_now":
            self.fixes.append(self.mover.fix(now()))
            self.report()
        elif kind == "request_live_view" and self.rng.random() < 0.1:
            self.event(ACK_EVENT, command_id=command_id, status="rejected", detail="declined")
            return
        self.event(ACK_EVENT, command_id=command_id, status="succeeded")

    async def _connect(self) -> MqttClient:
        if self.mqtt_address is None:
            raise MqttError("this recorder sends over HTTPS")
        cred = self.credential
        will = Will(
            up_topic(cred.department_code, cred.serial, "status"),
            json.dumps({"msg_id": f"will-{uuid.uuid4()}", "state": "offline"}).encode(),
        )
        client = MqttClient(
            *self.mqtt_address,
            client_id=cred.serial,
            username=cred.serial,
            password=cred.secret,
            keepalive=self.behaviour.keepalive_s,
            will=will,
            on_message=self._on_command,
        )
        await client.connect()
        await client.subscribe(command_topic(cred.department_code, cred.serial))
        return client

    async def _send(self, item: Outgoing) -> None:
        body = json.dumps(item.payload, separators=(",", ":")).encode()
        if self.tally.sent_at is not None and item.attempts == 0:
            self.tally.sent_at[item.msg_id] = time.time()
        if self.transport == "https":
            response = await self.http.post(
                f"{API}/devices/self/{HTTPS_PATHS[item.kind]}",
                content=body,
                headers={
                    "Authorization": self.credential.http_authorization,
                    "Content-Type": "application/json",
                },
            )
            if response.status_code >= 500:
                raise MqttError(f"HTTP {response.status_code}")
            if response.status_code != 200:
                self.tally.refused += 1
                log.warning("message refused", extra={"status": response.status_code})
                return
            self.tally.duplicates += bool(response.json().get("duplicate"))
            return
        if self.client is None or not self.client.connected:
            if self.client is not None:
                self.tally.reconnects += 1
            self.client = await self._connect()
        topic = up_topic(self.credential.department_code, self.serial, item.kind)  # type: ignore[arg-type]
        await self.client.publish(topic, body, qos=1, dup=item.attempts > 0)

    def _delivered(self, item: Outgoing) -> None:
        self.tally.messages[item.kind] += 1
        self.tally.positions += item.positions
        if item.event is not None:
            self.tally.events[item.event] += 1
        if item.queued_offline:
            self.tally.delivered_after_drop += item.positions

    async def sender(self, stop: asyncio.Event) -> None:
        """Deliver the outbox in order until `stop` is set and the outbox is empty."""
        backoff = 0.5
        while True:
            if not self.outbox:
                if stop.is_set():
                    return
                self.wake.clear()
                await _wait_any(self.wake, stop)
                continue
            await self.network_up.wait()
            item = self.outbox[0]
            try:
                await self._send(item)
            except (MqttError, httpx.TransportError, OSError):
                item.attempts += 1
                self.tally.resends += 1
                await asyncio.sleep(backoff * self.rng.uniform(0.5, 1.5))
                backoff = min(backoff * 2, 8.0)
                continue
            backoff = 0.5
            self.outbox.popleft()
            self._delivered(item)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.disconnect()
            self.client = None

    # --- sensors --------------------------------------------------------------------

    def tick(self, seconds: float) -> None:
        """Advance the officer and the device by `seconds` and take a fix."""
        b = self.behaviour
        self.mover.step(seconds)
        self.fixes.append(self.mover.fix(now()))
        before = self.battery
        drain = (6.0 + (10.0 if self.recording else 0.0)) / 3600 * seconds
        self.battery = max(0.0, self.battery - drain)
        if before >= 20 > self.battery:
            self.event("low_battery", battery_pct=round(self.battery, 1))
        if self.recording:
            self.storage_mb = max(0, self.storage_mb - int(seconds * 0.5))
        self.signal = max(-115, min(-55, self.signal + self.rng.randint(-3, 3)))
        hours = seconds / 3600
        if self.rng.random() < b.sos_per_hour * hours:
            self.press_sos()
        if self.rng.random() < b.recording_per_hour * hours:
            self.set_recording(not self.recording, trigger="button")


async def _wait_any(*events: asyncio.Event) -> None:
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
