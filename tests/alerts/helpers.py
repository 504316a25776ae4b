"""Builders for the alerts tests: committed recorders, device events, consumers."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from citywitness.alerts import raising
from citywitness.alerts.models import Alert
from citywitness.devices.telemetry import accept_message
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.events import consume_once
from tests.devices.helpers import Enrolled


def event_body(kind: str, *, at: datetime | None = None, **details: Any) -> bytes:
    body: dict[str, Any] = {
        "msg_id": uuid.uuid4().hex,
        "kind": kind,
        "at": (at or utcnow()).isoformat(),
        "position": {
            "lat": 31.2304,
            "lon": 121.4737,
            "fix": "gps",
            "at": (at or utcnow()).isoformat(),
        },
    }
    if details:
        body["details"] = details
    return json.dumps(body).encode()


async def send_event(db: Database, device: Enrolled, kind: str, **details: Any) -> None:
    async with db.transaction() as session:
        await accept_message(
            session,
            device.identity,
            "event",
            event_body(kind, **details),
            transport="https",
            received_at=utcnow(),
        )


async def drain(db: Database, batch_size: int = 100) -> int:
    """Run the alerts consumer until nothing is left; how many events it handled."""
    consumer = raising.consumer(batch_size)
    total = 0
    while (count := await consume_once(db, consumer)) is not None and count > 0:
        total += count
    return total


async def alerts_of(db: Database, recorder_id: uuid.UUID) -> list[Alert]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Alert).where(Alert.recorder_id == recorder_id).order_by(Alert.created_at)
        )
        return list(rows.scalars())


async def count(db: Database, model: Any) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
