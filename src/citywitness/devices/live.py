"""Fan-out of recorder state to console WebSockets, fed by PostgreSQL LISTEN/NOTIFY.

One `StateHub` per process holds one LISTEN connection (opened when the first console
subscribes, closed when the last one leaves) and hands every `cw_device_state`
notification to the subscribers whose scope holds that recorder's department.  A NOTIFY
is issued in the transaction that wrote the state, so consoles hear of committed states
only, from any API replica.  Each subscriber gets at most one state per recorder per
`min_interval` (the newest one; an earlier one waiting is replaced, never queued).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import psycopg

from citywitness.devices.state import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Subscriber:
    """One console: its scope (None: every department) and what is due to it."""

    departments: Collection[uuid.UUID] | None
    min_interval: float = 1.0
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _last_sent: dict[str, float] = field(default_factory=dict)
    _pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    _timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)

    def wants(self, state: dict[str, Any]) -> bool:
        if self.departments is None:
            return True
        try:
            return uuid.UUID(str(state.get("department_id"))) in self.departments
        except ValueError:
            return False

    def offer(self, state: dict[str, Any]) -> None:
        """Deliver now, or keep as the newest pending state for this recorder."""
        key = str(state.get("recorder_id"))
        now = time.monotonic()
        wait = self._last_sent.get(key, -1e9) + self.min_interval - now
        if wait <= 0 and key not in self._timers:
            self._send(key, state, now)
            return
        self._pending[key] = state
        if key not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[key] = loop.call_later(max(wait, 0), self._flush, key)

    def _flush(self, key: str) -> None:
        self._timers.pop(key, None)
        state = self._pending.pop(key, None)
        if state is not None:
            self._send(key, state, time.monotonic())

    def _send(self, key: str, state: dict[str, Any], now: float) -> None:
        self._last_sent[key] = now
        self.queue.put_nowait(state)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()


class StateHub:
    """LISTENs on `cw_device_state` while anyone is subscribed; fans out to subscribers."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None

    async def subscribe(self, subscriber: Subscriber) -> None:
        """Add a subscriber; returns once the LISTEN is in place (no state is missed after)."""
        self.subscribers.add(subscriber)
        if self._task is None or self._ready is None or self._task.done():
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._listen(self._ready), name="device-state-hub")
        listening, task = self._ready, self._task
        waiter = asyncio.create_task(listening.wait())
        await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done() and not listening.is_set():
            self.subscribers.discard(subscriber)
            task.result()  # raises the listener's error

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        subscriber.close()
        self.subscribers.discard(subscriber)
        task = self._task
        if task is not None and (task.done() or not self.subscribers):
            task.cancel()
            await asyncio.wait([task])
            if not task.cancelled() and task.exception() is not None:
                log.warning("device state feed lost", exc_info=task.exception())
            if self._task is task:
                self._task = None

    async def stopped(self) -> None:
        """Returns when the LISTEN connection ends (database restart): consoles reconnect."""
        if self._task is not None:
            await asyncio.wait([self._task])

    def dispatch(self, payload: str) -> None:
        try:
            state = json.loads(payload)
        except ValueError:
            log.warning("device state notification is not JSON")
            return
        for subscriber in list(self.subscribers):
            if subscriber.wants(state):
                subscriber.offer(state)

    async def _listen(self, ready: asyncio.Event) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, application_name="citywitness-device-hub"
        )
        try:
            await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            ready.set()
            async for notice in conn.notifies():
                self.dispatch(notice.payload)
        finally:
            await conn.close()
