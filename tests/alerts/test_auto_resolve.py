"""A recorder offline during its shift raises an alert; when it comes back online the alert
resolves by itself: an alert event without an actor, audited as the system, pushed to
consoles; handling the same events again does not end a newer alert."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import websockets
from sqlalchemy import select, text, update

from citywitness.access.levels import Role
from citywitness.alerts.models import AlertEvent
from citywitness.app import create_app
from citywitness.audit.models import AuditEvent
from citywitness.devices.telemetry import accept_message
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.events import EventConsumer
from citywitness.settings import Settings
from tests.alerts.helpers import alerts_of, drain
from tests.devices.helpers import Enrolled, make_enrolled, make_officer
from tests.factories import PUBLIC_SECURITY, make_actor


@pytest.fixture
async def server(committed_db: Database, tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database={"url": committed_db.url},
        jobs={"in_process_worker": False},
    )
    app = create_app(settings, committed_db)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    while not srv.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    srv.should_exit = True
    await task
    sock.close()


async def _next(ws: websockets.ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    return message


async def _on_shift(db: Database) -> Enrolled:
    device = await make_enrolled(db)
    officer = await make_officer(db)
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO recorder_bindings (id, recorder_id, officer_id, started_at)"
                " VALUES (:id, :r, :o, now() - interval '1 hour')"
            ),
            {"id": uuid.uuid4(), "r": device.identity.device_id, "o": officer},
        )
    return device


async def _status(db: Database, device: Enrolled, state: str) -> None:
    """A status message: `offline` is the MQTT last will; any other message is a heartbeat."""
    async with db.transaction() as session:
        await accept_message(
            session,
            device.identity,
            "status",
            json.dumps({"msg_id": uuid.uuid4().hex, "state": state}).encode(),
            transport="mqtt",
            received_at=utcnow(),
        )


async def test_back_online_resolves_the_offline_alert(server: str, committed_db: Database) -> None:
    operator = await make_actor(committed_db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    device = await _on_shift(committed_db)
    await _status(committed_db, device, "online")
    url = f"ws://{server}/api/v1/ws/alerts"
    async with websockets.connect(url, additional_headers=operator.headers) as ws:
        assert (await _next(ws))["open"] == []
        await _status(committed_db, device, "offline")
        await drain(committed_db)
        raised = await _next(ws)
        assert (raised["event"], raised["alert"]["kind"]) == ("raised", "device_offline_on_shift")
        await _status(committed_db, device, "online")
        await drain(committed_db)
        resolved = await _next(ws)
        assert (resolved["event"], resolved["alert"]["id"], resolved["alert"]["state"]) == (
            "resolve",
            raised["alert"]["id"],
            "resolved",
        )
    alert_id = uuid.UUID(raised["alert"]["id"])
    async with committed_db.transaction() as session:
        events = (
            await session.execute(
                select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
            )
        ).scalars()
        steps = [(e.action, e.from_state, e.to_state, e.actor_user_id, e.note) for e in events]
        audited = (
            await session.execute(
                select(AuditEvent.actor_kind, AuditEvent.actor_user_id, AuditEvent.details).where(
                    AuditEvent.action == "alerts.resolve", AuditEvent.object_id == str(alert_id)
                )
            )
        ).all()
    assert steps == [
        ("raised", None, "new", None, None),
        ("resolve", "new", "resolved", None, "recorder back online"),
    ]
    assert [tuple(row) for row in audited] == [
        (
            "system",
            None,
            {"from": "new", "to": "resolved", "automatic": True, "note": "recorder back online"},
        )
    ]


async def test_old_online_events_do_not_end_a_newer_alert(committed_db: Database) -> None:
    device = await _on_shift(committed_db)
    for state in ("online", "offline", "online", "offline"):
        await _status(committed_db, device, state)
    await drain(committed_db)
    first, second = await alerts_of(committed_db, device.identity.device_id)
    assert (first.state, second.state) == ("resolved", "new")
    async with committed_db.transaction() as session:  # handle everything again
        await session.execute(
            update(EventConsumer)
            .where(EventConsumer.name == "alerts")
            .values(last_xid=0, last_id=0)
        )
    await drain(committed_db)
    again = await alerts_of(committed_db, device.identity.device_id)
    assert [a.state for a in again] == ["resolved", "new"]


async def test_online_without_an_open_alert_changes_nothing(committed_db: Database) -> None:
    device = await _on_shift(committed_db)
    await _status(committed_db, device, "online")
    await drain(committed_db)
    assert await alerts_of(committed_db, device.identity.device_id) == []
