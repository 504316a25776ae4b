"""A console beside the fleet: subscribed to `WS /api/v1/ws/alerts`, it notes when each
alert message arrives, so that SOS press -> console delivery can be measured per press.

Matching.  Each recorder's SOS presses leave its outbox in order and the alerts consumer
handles them in commit order; while the recorder's SOS alert stays open, the k-th press
after the console connected is the push whose `occurrences` is k more than the open
alert's at `hello` (a new alert starts at 1).  A press without such a push is undelivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import websockets

from citywitness.simulator.provision import ProvisionError

SOS = "sos"


class ConsoleRefused(ProvisionError):
    """The console WebSocket was refused (a token without alerts:read?) or said no hello."""


@dataclass
class SosDelivery:
    """Press -> console delivery, over all presses: latencies (s) and what never came."""

    presses: int = 0
    latencies: list[float] = field(default_factory=list)
    undelivered: int = 0


def ws_url(http_url: str) -> str:
    if http_url.startswith("https://"):
        return "wss://" + http_url.removeprefix("https://") + "/api/v1/ws/alerts"
    return "ws://" + http_url.removeprefix("http://") + "/api/v1/ws/alerts"


class AlertConsole:
    """One console WebSocket client (a token with alerts:read): arrival time of every push."""

    def __init__(self, url: str, token: str) -> None:
        self.url = ws_url(url.rstrip("/"))
        self.token = token
        self.base: dict[str, int] = {}  # recorder id -> occurrences of its open SOS at hello
        self.arrivals: dict[tuple[str, int], float] = {}  # (recorder id, occurrences) -> time
        self.received = 0
        self.changed = asyncio.Event()
        self._socket: websockets.ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            self._socket = await websockets.connect(
                self.url, additional_headers=headers, max_size=2**22
            )
            hello = json.loads(await asyncio.wait_for(self._socket.recv(), 30))
        except (websockets.WebSocketException, OSError, TimeoutError) as exc:
            raise ConsoleRefused(f"console WebSocket {self.url}: {exc}") from exc
        if hello.get("type") != "hello":
            raise ConsoleRefused(f"unexpected first console message: {hello.get('type')!r}")
        for alert in hello.get("open") or ():
            if alert.get("kind") == SOS and alert.get("recorder_id"):
                self.base[alert["recorder_id"]] = int(alert.get("occurrences") or 0)
        self._reader = asyncio.create_task(self._read(self._socket), name="alert-console")

    async def _read(self, socket: websockets.ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in socket:
                arrived = time.time()
                self.received += 1
                self._note(json.loads(raw), arrived)

    def _note(self, message: dict[str, Any], arrived: float) -> None:
        alert = message.get("alert") or {}
        if message.get("event") not in ("raised", "repeated") or alert.get("kind") != SOS:
            return
        key = (str(alert.get("recorder_id")), int(alert.get("occurrences") or 0))
        self.arrivals.setdefault(key, arrived)
        self.changed.set()

    def sos(self, pressed: dict[str, list[float]]) -> SosDelivery:
        """Match presses (recorder id -> press times, in order) with their pushes."""
        result = SosDelivery()
        for recorder_id, times in pressed.items():
            base = self.base.get(recorder_id, 0)
            for k, at in enumerate(times, start=1):
                result.presses += 1
                arrived = self.arrivals.get((recorder_id, base + k))
                if arrived is None:
                    result.undelivered += 1
                else:
                    result.latencies.append(arrived - at)
        return result

    async def wait_for(self, pressed: dict[str, list[float]], timeout_s: float) -> SosDelivery:
        """Wait (at most `timeout_s`) until every press was pushed; the matching."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.changed.clear()  # before looking: a push from now on wakes the wait
            found = self.sos(pressed)
            left = deadline - time.monotonic()
            if not found.undelivered or left <= 0:
                return found
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
