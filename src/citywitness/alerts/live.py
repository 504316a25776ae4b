"""Fan-out of alert changes to console WebSockets, fed by `LISTEN cw_alerts`.

One `AlertHub` per process holds one LISTEN connection while anyone is subscribed and
hands each notification (issued in the transaction that raised or changed the alert, so
only committed changes) to the subscribers whose scope holds the alert's department.  An
alert without a department (a ledger fork) goes only to platform-wide subscribers.
Nothing is dropped or merged: every change is queued to every subscriber in scope.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import psycopg

from citywitness.alerts.service import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


@dataclass(eq=False)
class AlertSubscriber:
    departments: Collection[uuid.UUID] | None
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    def wants(self, message: dict[str, Any]) -> bool:
        if self.departments is None:
            return True
        department = (message.get("alert") or {}).get("department_id")
        try:
            return department is not None and uuid.UUID(str(department)) in self.departments
        except ValueError:
            return False


class AlertHub:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.subscribers: set[AlertSubscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None

    async def subscribe(self, subscriber: AlertSubscriber) -> None:
        """Add a subscriber; returns once the LISTEN is in place."""
        self.subscribers.add(subscriber)
        if self._task is None or self._ready is None or self._task.done():
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._listen(self._ready), name="alert-hub")
        ready, task = self._ready, self._task
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done() and not ready.is_set():
            self.subscribers.discard(subscriber)
            task.result()

    async def unsubscribe(self, subscriber: AlertSubscriber) -> None:
        self.subscribers.discard(subscriber)
        if not self.subscribers and self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def stopped(self) -> None:
        if self._task is not None:
            await asyncio.wait([self._task])

    def dispatch(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            log.warning("alert notification is not JSON")
            return
        for subscriber in list(self.subscribers):
            if subscriber.wants(message):
                subscriber.queue.put_nowait(message)

    async def _listen(self, ready: asyncio.Event) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, application_name="citywitness-alert-hub"
        )
        try:
            await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            ready.set()
            async for notice in conn.notifies():
                self.dispatch(notice.payload)
        finally:
            await conn.close()
