"""Storing what the bridge received: topic -> recorder, then `accept_message`, in batches.

A batch is one transaction.  A message that is bad (`InvalidDeviceMessage` or any other
client error) would poison the whole transaction, so a batch that hits one is stored again
one message per transaction, and only the bad message is dropped (logged by code, never by
content).  A database error keeps the batch in hand and retries it with a growing pause:
nothing is acknowledged, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.agencies.models import Department
from citywitness.devices.models import Recorder, RecorderState
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.telemetry import TelemetryLimits, accept_message
from citywitness.devices.topics import parse_topic
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError

log = logging.getLogger(__name__)

IDENTITY_TTL_SECONDS = 30.0  # a retired recorder's queued messages are refused after at most this
UNKNOWN_TTL_SECONDS = 2.0  # a recorder registered a moment ago is found quickly
_RETRY_MAX_SECONDS = 5.0


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
        """Store the batch in one transaction (or one per message if one is refused)."""
        try:
            async with self.database.transaction() as session:
                outcomes = [await self._accept(session, item, isolated=False) for item in batch]
        except _PoisonedBatch:
            outcomes = []
            for item in batch:
                async with self.database.transaction() as session:
                    outcomes.append(await self._accept(session, item, isolated=True))
        self.counts.update(outcomes)  # counted once committed

    async def _accept(self, session: AsyncSession, item: Received, *, isolated: bool) -> str:
        parsed = parse_topic(item.topic)
        if parsed is None:
            return "ignored"
        department_code, serial, kind = parsed
        identity = await self.identity(session, department_code, serial)
        if identity is None:
            log.info("mqtt message from unknown recorder dropped", extra={"kind": kind})
            return "unknown_device"
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

    async def identity(
        self, session: AsyncSession, department_code: str, serial: str
    ) -> DeviceIdentity | None:
        """The active recorder `serial` of department `department_code` (cached briefly)."""
        key = (department_code, serial)
        now = time.monotonic()
        cached = self._identities.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        row = (
            await session.execute(
                select(Recorder.id, Recorder.serial, Department.code, Department.id)
                .join(Department, Department.id == Recorder.department_id)
                .where(
                    Recorder.serial == serial,
                    Department.code == department_code,
                    Recorder.state == RecorderState.ACTIVE.value,
                )
            )
        ).first()
        identity = None
        if row is not None:
            identity = DeviceIdentity(
                device_id=row[0], serial=row[1], department_code=row[2], department_id=row[3]
            )
        if len(self._identities) > 100_000:
            self._identities.clear()
        ttl = IDENTITY_TTL_SECONDS if identity is not None else UNKNOWN_TTL_SECONDS
        self._identities[key] = (now + ttl, identity)
        return identity
