"""Real-time delivery: a real server, a real WebSocket client, real commits and NOTIFY;
and an alert sent to the recorder over a real MQTT broker, acknowledged by the recorder."""

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
from sqlalchemy import select, text

from citywitness.access.levels import Role
from citywitness.alerts.delivery import RecorderDelivery
from citywitness.alerts.kinds import Action
from citywitness.alerts.models import Alert, AlertDelivery, AlertEvent, DeliveryAttempt
from citywitness.alerts.service import transition
from citywitness.app import create_app
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.settings import Settings
from tests.alerts.helpers import drain, send_event
from tests.devices.helpers import make_enrolled
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor


@pytest.fixture
async def server(committed_db: Database, tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database={"url": committed_db.url},  # type: ignore[arg-type]
        jobs={"in_process_worker": False},  # type: ignore[arg-type]
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


async def test_consoles_get_alerts_in_scope_as_they_happen(
    server: str, committed_db: Database
) -> None:
    operator = await make_actor(committed_db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    mine = await make_enrolled(committed_db)
    theirs = await make_enrolled(committed_db, TRAFFIC_POLICE)
    await send_event(committed_db, mine, "tamper")
    await drain(committed_db)
    url = f"ws://{server}/api/v1/ws/alerts"
    async with websockets.connect(url, additional_headers=operator.headers) as ws:
        hello = await _next(ws)
        assert hello["type"] == "hello"
        assert [a["kind"] for a in hello["open"]] == ["tamper"]
        await send_event(committed_db, theirs, "sos")  # out of scope: never pushed
        await send_event(committed_db, mine, "sos")
        await drain(committed_db)
        raised = await _next(ws)
        assert (raised["event"], raised["alert"]["kind"], raised["alert"]["recorder_id"]) == (
            "raised",
            "sos",
            str(mine.identity.device_id),
        )
        await send_event(committed_db, mine, "sos")
        await drain(committed_db)
        repeated = await _next(ws)
        assert (repeated["event"], repeated["alert"]["occurrences"]) == ("repeated", 2)
        async with committed_db.transaction() as session:
            alert_id = raised["alert"]["id"]
            alert = await session.get(Alert, uuid.UUID(alert_id), with_for_update=True)
            assert alert is not None
            await transition(session, alert, Action.ACKNOWLEDGE, actor=None, note=None)
        acked = await _next(ws)
        assert (acked["event"], acked["alert"]["state"]) == ("acknowledge", "acknowledged")


async def test_refuses_callers_without_alerts_read(server: str, committed_db: Database) -> None:
    officer = await make_actor(committed_db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    for headers in [{}, officer.headers]:
        with pytest.raises(websockets.InvalidStatus) as caught:
            async with websockets.connect(
                f"ws://{server}/api/v1/ws/alerts", additional_headers=headers
            ):
                pass
        assert caught.value.response.status_code == 403


class RecordingPublisher:
    """Stands in for the MQTT bridge when the broker is not what is being tested."""

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = fail

    async def publish_command(
        self, department_code: str, serial: str, payload: bytes, *, wait_seconds: float = 10.0
    ) -> None:
        assert wait_seconds > 0
        if self.fail:
            self.fail -= 1
            raise TimeoutError("broker away")
        self.sent.append((department_code, serial, json.loads(payload)))


async def test_recorder_delivery_retries_until_acknowledged(committed_db: Database) -> None:
    device = await make_enrolled(committed_db)
    await send_event(committed_db, device, "sos")
    await drain(committed_db)
    publisher = RecordingPublisher(fail=1)
    delivery = RecorderDelivery(committed_db, publisher, retry_seconds=0, timeout_seconds=60)
    assert await delivery.run_once() == 1  # the broker is away: a failed attempt
    assert await delivery.run_once() == 1  # sent
    [(code, serial, command)] = publisher.sent
    assert (code, serial, command["type"], command["kind"]) == (
        "public-security",
        device.identity.serial,
        "alert",
        "sos",
    )
    stranger = await make_enrolled(committed_db)  # another recorder cannot acknowledge it
    await send_event(committed_db, stranger, "command_ack", command_id=command["command_id"])
    await drain(committed_db)
    async with committed_db.transaction() as session:
        pending = await session.get(AlertDelivery, uuid.UUID(command["command_id"]))
        assert pending is not None
        assert pending.state == "pending"
    await send_event(  # the recorder acknowledges, as over MQTT or HTTPS
        committed_db, device, "command_ack", command_id=command["command_id"], status="acknowledged"
    )
    await drain(committed_db)
    assert await delivery.run_once() == 0  # delivered: not sent again
    async with committed_db.transaction() as session:
        found = await session.get(AlertDelivery, uuid.UUID(command["command_id"]))
        assert found is not None
        assert (found.state, found.attempts) == ("delivered", 2)
        tries = (
            await session.execute(
                select(DeliveryAttempt.ok).where(DeliveryAttempt.delivery_id == found.id)
            )
        ).scalars()
        assert sorted(tries) == [False, True]
        actions = (
            await session.execute(
                select(AlertEvent.action).where(AlertEvent.alert_id == found.alert_id)
            )
        ).scalars()
        assert list(actions) == ["raised", "delivered"]


async def test_recorder_delivery_expires_without_acknowledgement(committed_db: Database) -> None:
    device = await make_enrolled(committed_db)
    await send_event(committed_db, device, "sos")
    await drain(committed_db)
    async with committed_db.transaction() as session:
        await session.execute(
            text("UPDATE alert_deliveries SET created_at = :t"),
            {"t": utcnow().replace(year=2020)},
        )
    publisher = RecordingPublisher()
    assert await RecorderDelivery(committed_db, publisher).run_once() == 1
    assert publisher.sent == []
    async with committed_db.transaction() as session:
        state = await session.scalar(select(AlertDelivery.state))
    assert state == "expired"
