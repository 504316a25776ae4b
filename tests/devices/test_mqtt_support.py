"""Shared pieces of the MQTT tests (no tests here): recorders with credentials, a device
client (paho, the library real recorders' firmware often mirrors), waiting for rows."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import func, select

from citywitness.devices.credentials import issue_credential
from citywitness.devices.models import DevicePosition, Recorder, RecorderState
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.state import ensure_state_row
from citywitness.devices.topics import command_topic, up_topic
from citywitness.kit.db import Database
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE

DEPARTMENT_CODES = {PUBLIC_SECURITY: "public-security", TRAFFIC_POLICE: "traffic-police"}


@dataclass(frozen=True)
class Device:
    identity: DeviceIdentity
    secret: str

    @property
    def serial(self) -> str:
        return self.identity.serial

    def topic(self, kind: str) -> str:
        return up_topic(self.identity.department_code, self.serial, kind)  # type: ignore[arg-type]

    @property
    def command_topic(self) -> str:
        return command_topic(self.identity.department_code, self.serial)


async def make_device(db: Database, department_id: uuid.UUID = PUBLIC_SECURITY) -> Device:
    """A committed, active recorder with a live credential."""
    serial = f"T{uuid.uuid4().hex[:12].upper()}"
    async with db.transaction() as session:
        recorder = Recorder(
            id=uuid.uuid4(),
            serial=serial,
            department_id=department_id,
            state=RecorderState.ACTIVE.value,
        )
        session.add(recorder)
        await session.flush()
        await ensure_state_row(session, recorder.id)
        issued = await issue_credential(session, recorder.id)
    identity = DeviceIdentity(
        device_id=recorder.id,
        serial=serial,
        department_code=DEPARTMENT_CODES[department_id],
        department_id=department_id,
    )
    return Device(identity=identity, secret=issued.secret)


def telemetry(msg_id: str | None = None, *, lat: float = 31.2304, lon: float = 121.4737) -> bytes:
    at = datetime.now(UTC).replace(microsecond=0)
    return json.dumps(
        {
            "msg_id": msg_id or uuid.uuid4().hex,
            "positions": [
                {
                    "lat": lat,
                    "lon": lon,
                    "fix": "beidou",
                    "at": (at - timedelta(seconds=5)).isoformat(),
                },
                {"lat": lat + 0.001, "lon": lon, "fix": "gps", "at": at.isoformat()},
            ],
            "battery_pct": 81.5,
        }
    ).encode()


def status(state: str, msg_id: str | None = None) -> bytes:
    return json.dumps({"msg_id": msg_id or uuid.uuid4().hex, "state": state}).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DeviceClient:
    """A recorder's MQTT connection, driven from tests (paho runs in its own thread)."""

    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    protocol: int = paho.MQTTv311
    clean_session: bool = True
    will: tuple[str, bytes] | None = None
    manual_ack: bool = False
    connack: ReasonCode | None = None
    messages: list[paho.MQTTMessage] = field(default_factory=list)
    _answered: threading.Event = field(default_factory=threading.Event)
    _granted: dict[int, list[ReasonCode]] = field(default_factory=dict)
    _client: Any = None

    def __post_init__(self) -> None:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self.protocol,  # type: ignore[arg-type]
            clean_session=self.clean_session if self.protocol != paho.MQTTv5 else None,
            manual_ack=self.manual_ack,
            reconnect_on_failure=False,
        )
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.will is not None:
            client.will_set(self.will[0], self.will[1], qos=1)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = lambda _c, _u, message: self.messages.append(message)
        self._client = client

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self.connack = reason
        self._answered.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
        self._answered.set()

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        self._granted[mid] = reasons

    async def connect(self) -> ReasonCode | None:
        """The CONNACK's reason code; None when the broker closed without a usable one."""

        def run() -> None:
            self._client.connect(self.host, self.port, keepalive=30)
            self._client.loop_start()
            self._answered.wait(10)

        await asyncio.to_thread(run)
        return self.connack

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        info = self._client.publish(topic, payload, qos=qos)
        await asyncio.to_thread(info.wait_for_publish, 10)
        assert info.is_published()

    async def subscribe(self, topic: str) -> list[ReasonCode]:
        _, mid = self._client.subscribe(topic, qos=1)
        await wait_until(lambda: _const(mid in self._granted))
        return self._granted[mid]

    def ack(self, message: paho.MQTTMessage) -> None:
        self._client.ack(message.mid, message.qos)

    async def disconnect(self) -> None:
        await asyncio.to_thread(self._client.disconnect)
        await asyncio.to_thread(self._client.loop_stop)

    async def kill(self) -> None:
        """Drop the TCP connection without DISCONNECT (a recorder losing power or signal)."""
        sock = self._client.socket()
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        await asyncio.to_thread(self._client.loop_stop)


async def _const(value: bool) -> bool:
    return value


async def wait_until(check: Callable[[], Awaitable[bool]], *, seconds: float = 15.0) -> None:
    """Poll `check` until true (a wait for asynchronous delivery, not a timing assertion)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def position_count(db: Database, device: Device) -> int:
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(DevicePosition)
            .where(DevicePosition.recorder_id == device.identity.device_id)
        )
    return int(count or 0)


def listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found is None and Path("/usr/sbin/mosquitto").exists():
        return "/usr/sbin/mosquitto"
    return found


def start_mosquitto(port: int, directory: Path, config: str) -> subprocess.Popen[bytes]:
    """A Mosquitto of the test's own on 127.0.0.1:`port` with `config` (more lines)."""
    path = directory / "mosquitto.conf"
    path.write_text(f"listener {port} 127.0.0.1\nuser root\nlog_dest stderr\n{config}")
    process = subprocess.Popen(
        [str(mosquitto_binary()), "-c", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(200):
        if listening("127.0.0.1", port):
            return process
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "died")
        time.sleep(0.05)
    process.kill()
    raise AssertionError("mosquitto did not start")
