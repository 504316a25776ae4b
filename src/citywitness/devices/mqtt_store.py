"""Storing what the bridge received: topic -> recorder, then rows, in batches.

A batch is one transaction.  Its telemetry messages (nearly all of the traffic) are
parsed and time-checked first, in Python; a bad one is rejected there (logged by code,
never by content, and counted) without touching the database, and the good ones are
stored together by `mqtt_batch` (dedup, positions and hot state in a few statements).
Events and status messages are checked the same way, then go through `accept_message` one
by one.  One of those that is still refused there (a command acknowledgement naming a
command it cannot acknowledge, say) would poison the whole transaction, so a batch that
hits one is stored again:
telemetry in one transaction, every other message in a transaction of its own, and only
the bad message is dropped.  A database error keeps the batch in hand and retries it with
a growing pause: nothing is acknowledged, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, any_, cast, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.agencies.models import Department
from citywitness.devices.messages import TelemetryMessage, parse_message
from citywitness.devices.models import Recorder, RecorderState
from citywitness.devices.mqtt_batch import (
    Telemetry,
    apply_states,
    record_online,
    store_positions,
)
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.state import ensure_state_row
from citywitness.devices.telemetry import TelemetryLimits, accept_message, check_times
from citywitness.devices.topics import parse_topic
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError

log = logging.getLogger(__name__)

IDENTITY_TTL_SECONDS = 30.0  # a retired recorder's queued messages are refused after at most this
UNKNOWN_TTL_SECONDS = 2.0  # a recorder registered a moment ago is found quickly
_RETRY_MAX_SECONDS = 5.0
_IDENTITIES_MAX = 300_000
_SERIALS = ARRAY(String)  # one array parameter, whatever the number of serials


@dataclass(frozen=True)
class Received:
    """One PUBLISH as the bridge got it; `generation` names the connection it came on."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    received_at: datetime


class _PoisonedBatch(Exception):
    """A message in the batch was refused; store the batch one message at a time."""


@dataclass
class _Plan:
    """A batch sorted out: outcomes decided without the database, and what is left."""

    decided: list[str] = field(default_factory=list)
    telemetry: list[Telemetry] = field(default_factory=list)
    others: list[tuple[Received, DeviceIdentity, str]] = field(default_factory=list)


class MessageStore:
    """Turns received messages into rows; counts what happened to them."""

    def __init__(self, database: Database, limits: TelemetryLimits | None = None) -> None:
        self.database = database
        self.limits = limits or TelemetryLimits()
        self.counts: Counter[str] = Counter()
        self._identities: dict[tuple[str, str], tuple[float, DeviceIdentity | None]] = {}

    async def store_with_retry(self, batch: list[Received]) -> None:
        """Store the batch; on a database error wait and try again until it is stored."""
        pause = 0.1
        while True:
            try:
                await self.store(batch)
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: keep the batch, retry
                log.warning(
                    "mqtt batch not stored, retrying",
                    extra={"error": type(exc).__name__, "messages": len(batch)},
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RETRY_MAX_SECONDS)
            else:
                return

    async def store(self, batch: list[Received]) -> None:
        """Store the batch in one transaction (more if an event or status is refused)."""
        try:
            async with self.database.transaction() as session:
                plan = await self._plan(session, batch)
                outcomes = await self._store_telemetry(session, plan.telemetry)
                for item, identity, kind in plan.others:
                    outcomes.append(await self._accept(session, item, identity, kind, False))
        except _PoisonedBatch:
            async with self.database.transaction() as session:
                plan = await self._plan(session, batch)
                outcomes = await self._store_telemetry(session, plan.telemetry)
            for item, identity, kind in plan.others:
                async with self.database.transaction() as session:
                    outcomes.append(await self._accept(session, item, identity, kind, True))
        self.counts.update(plan.decided)  # counted once committed
        self.counts.update(outcomes)

    async def _plan(self, session: AsyncSession, batch: list[Received]) -> _Plan:
        topics = [(item, parse_topic(item.topic)) for item in batch]
        await self._resolve(session, {(p[0], p[1]) for _, p in topics if p is not None})
        plan = _Plan()
        keys: set[tuple[uuid.UUID, str]] = set()
        for item, parsed in topics:
            if parsed is None:
                plan.decided.append("ignored")
                continue
            department_code, serial, kind = parsed
            identity = self._cached(department_code, serial)
            if identity is None:
                log.info("mqtt message from unknown recorder dropped", extra={"kind": kind})
                plan.decided.append("unknown_device")
            elif kind != "telemetry":
                if self._valid(item, identity, kind):
                    plan.others.append((item, identity, kind))
                else:
                    plan.decided.append("rejected")
            else:
                plan.decided.extend(self._check_telemetry(item, identity, plan.telemetry, keys))
        return plan

    def _valid(self, item: Received, identity: DeviceIdentity, kind: str) -> bool:
        """Whether an event or status message parses and its times are in range: checked
        before the transaction, so that a bad one rarely poisons a batch."""
        try:
            check_times(parse_message(kind, item.payload), item.received_at, self.limits)
        except AppError as exc:
            log.info(
                "mqtt message rejected",
                extra={"device_id": str(identity.device_id), "kind": kind, "error": exc.code},
            )
            return False
        return True

    def _check_telemetry(
        self,
        item: Received,
        identity: DeviceIdentity,
        accepted: list[Telemetry],
        keys: set[tuple[uuid.UUID, str]],
    ) -> list[str]:
        """Parse and time-check; append it to `accepted`, or say what became of it."""
        try:
            message = parse_message("telemetry", item.payload)
            check_times(message, item.received_at, self.limits)
        except AppError as exc:
            log.info(
                "mqtt message rejected",
                extra={
                    "device_id": str(identity.device_id),
                    "kind": "telemetry",
                    "error": exc.code,
                },
            )
            return ["rejected"]
        assert isinstance(message, TelemetryMessage)  # noqa: S101 - parse_message's contract
        key = (identity.device_id, message.msg_id)
        if key in keys:  # the same message twice in one batch (a redelivery)
            return ["duplicate"]
        keys.add(key)
        accepted.append(Telemetry(identity, message, item.received_at))
        return []

    async def _store_telemetry(self, session: AsyncSession, batch: list[Telemetry]) -> list[str]:
        new = await store_positions(session, batch)
        latest: dict[uuid.UUID, tuple[DeviceIdentity, datetime, TelemetryMessage | None]] = {}
        outcomes = []
        for t in batch:
            fresh = (t.device.device_id, t.message.msg_id) in new
            outcomes.append("stored" if fresh else "duplicate")
            known = latest.get(t.device.device_id)
            message = t.message if fresh else (known[2] if known else None)
            seen = max(t.received_at, known[1]) if known else t.received_at
            latest[t.device.device_id] = (t.device, seen, message)
        interval = self.limits.state_write_interval
        states = await apply_states(session, latest, min_interval=interval)
        came_online = list(states.came_online)
        if states.missing:  # recorders made outside the registry service have no state row
            for recorder_id in states.missing:
                await ensure_state_row(session, recorder_id)
            again = {key: latest[key] for key in states.missing}
            came_online += (await apply_states(session, again, min_interval=interval)).came_online
        await record_online(session, [latest[key][:2] for key in came_online])
        return outcomes

    async def _accept(
        self,
        session: AsyncSession,
        item: Received,
        identity: DeviceIdentity,
        kind: str,
        isolated: bool,
    ) -> str:
        try:
            result = await accept_message(
                session,
                identity,
                kind,
                item.payload,
                transport="mqtt",
                received_at=item.received_at,
                limits=self.limits,
            )
        except AppError as exc:
            if not isolated:
                raise _PoisonedBatch from exc
            log.info(
                "mqtt message rejected",
                extra={"device_id": str(identity.device_id), "kind": kind, "error": exc.code},
            )
            return "rejected"
        return "stored" if result.new else "duplicate"

    def _cached(self, department_code: str, serial: str) -> DeviceIdentity | None:
        cached = self._identities.get((department_code, serial))
        return cached[1] if cached is not None else None

    async def _resolve(self, session: AsyncSession, keys: Iterable[tuple[str, str]]) -> None:
        """Look up, in one query, the recorders of `keys` not cached (or cached too long)."""
        now = time.monotonic()
        missing = [
            key for key in keys if (cached := self._identities.get(key)) is None or cached[0] <= now
        ]
        if not missing:
            return
        rows = await session.execute(
            select(Recorder.id, Recorder.serial, Department.code, Department.id)
            .join(Department, Department.id == Recorder.department_id)
            .where(
                Recorder.serial == any_(cast(list({serial for _, serial in missing}), _SERIALS)),
                Recorder.state == RecorderState.ACTIVE.value,
            )
        )
        found = {
            (code, serial): DeviceIdentity(
                device_id=device_id, serial=serial, department_code=code, department_id=dept_id
            )
            for device_id, serial, code, dept_id in rows
        }
        if len(self._identities) + len(missing) > _IDENTITIES_MAX:
            self._identities.clear()
        for key in missing:
            identity = found.get(key)
            ttl = IDENTITY_TTL_SECONDS if identity is not None else UNKNOWN_TTL_SECONDS
            self._identities[key] = (now + ttl, identity)

    async def identity(
        self, session: AsyncSession, department_code: str, serial: str
    ) -> DeviceIdentity | None:
        """The active recorder `serial` of department `department_code` (cached briefly)."""
        await self._resolve(session, [(department_code, serial)])
        return self._cached(department_code, serial)
