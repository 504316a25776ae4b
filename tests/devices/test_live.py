"""The console WebSocket, end to end: a real server, a real client, real commits and NOTIFY."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from sqlalchemy import select, text

from citywitness.access.levels import Role
from citywitness.app import create_app
from citywitness.audit.models import AuditEvent
from citywitness.devices.live import Subscriber
from citywitness.devices.telemetry import accept_message
from citywitness.kit.db import Database
from citywitness.settings import Settings
from tests.devices.helpers import Enrolled, make_enrolled, now, payload, telemetry_body
from tests.factories import PASSWORD, PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor, make_user

PUBLIC_URL = "http://127.0.0.1:8000"


@pytest.fixture
async def live_db(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def server(live_db: Database, tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database={"url": live_db.url},  # type: ignore[arg-type]
        jobs={"in_process_worker": False},  # type: ignore[arg-type]
        server={"public_url": PUBLIC_URL},  # type: ignore[arg-type]
    )
    app = create_app(settings, live_db)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    while not srv.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    yield f"127.0.0.1:{port}"
    srv.should_exit = True
    await task
    sock.close()


async def _send(db: Database, device: Enrolled, *, later: float = 0, **health: Any) -> None:
    async with db.transaction() as session:
        await accept_message(
            session,
            device.identity,
            "telemetry",
            payload(telemetry_body(count=1, **health)),
            transport="mqtt",
            received_at=now() + timedelta(seconds=later),
        )


async def _next_state(ws: websockets.ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    assert message["type"] == "state"
    state: dict[str, Any] = message["state"]
    return state


async def test_pushes_states_in_scope_only(server: str, live_db: Database) -> None:
    operator = await make_actor(live_db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    mine, theirs = await make_enrolled(live_db), await make_enrolled(live_db, TRAFFIC_POLICE)
    await _send(live_db, mine, battery_pct=90)
    await _send(live_db, theirs, battery_pct=10)
    url = f"ws://{server}/api/v1/ws/devices"
    async with websockets.connect(url, additional_headers=operator.headers) as ws:
        snapshot = await _next_state(ws)
        assert (snapshot["recorder_id"], snapshot["battery_pct"], snapshot["online"]) == (
            str(mine.identity.device_id),
            90,
            True,
        )
        assert snapshot["serial"] == mine.identity.serial
        await _send(live_db, theirs, battery_pct=9, later=5)  # out of scope: never pushed
        await _send(live_db, mine, battery_pct=80, later=5)
        pushed = await _next_state(ws)
        assert (pushed["recorder_id"], pushed["battery_pct"]) == (str(mine.identity.device_id), 80)
        # Three material changes at once: coalesced to the newest, at most one a second.
        for i, recording in enumerate([True, False, True]):
            await _send(live_db, mine, recording=recording, later=6 + i)
        seen = [await _next_state(ws)]
        while seen[-1]["recording"] is not True:
            seen.append(await _next_state(ws))
        assert len(seen) <= 2  # never all three: the ones due together were coalesced
    async with live_db.transaction() as session:
        audited = await session.scalar(
            select(AuditEvent.details).where(
                AuditEvent.action == "devices.live_subscribe",
                AuditEvent.actor_user_id == operator.user.id,
            )
        )
    assert audited == {"departments": [str(PUBLIC_SECURITY)], "count": 1}


async def test_refuses_anonymous_and_callers_without_devices_read(
    server: str, live_db: Database
) -> None:
    officer = await make_actor(live_db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    url = f"ws://{server}/api/v1/ws/devices"
    for headers in [{}, officer.headers, {"Authorization": "Bearer cwt_nope_nope"}]:
        with pytest.raises(websockets.InvalidStatus) as caught:
            async with websockets.connect(url, additional_headers=headers):
                pass
        assert caught.value.response.status_code == 403


async def test_cookie_sessions_need_our_origin(server: str, live_db: Database) -> None:
    async with live_db.transaction() as session:
        user = await make_user(session, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    async with httpx.AsyncClient(base_url=f"http://{server}") as client:
        r = await client.post(
            "/api/v1/auth/login", json={"username": user.username, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        cookie = f"cw_session={r.cookies['cw_session']}"
    url = f"ws://{server}/api/v1/ws/devices?x=1"
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(
            url, additional_headers={"Cookie": cookie}, origin="http://evil.example"
        ):  # type: ignore[arg-type]
            pass
    async with websockets.connect(
        url, additional_headers={"Cookie": cookie}, origin=PUBLIC_URL
    ) as ws:  # type: ignore[arg-type]
        await ws.ping()


async def test_a_subscriber_coalesces_to_the_newest_state_per_recorder() -> None:
    sub = Subscriber(departments={PUBLIC_SECURITY}, min_interval=0.05)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    dept = str(PUBLIC_SECURITY)
    for n in (1, 2, 3):
        sub.offer({"recorder_id": a, "department_id": dept, "n": n})
    sub.offer({"recorder_id": b, "department_id": dept, "n": 1})
    assert [sub.queue.get_nowait()["n"] for _ in range(2)] == [1, 1]  # a#1 and b#1 at once
    later = await asyncio.wait_for(sub.queue.get(), timeout=10)
    assert (later["recorder_id"], later["n"]) == (a, 3)  # a#2 was replaced, never sent
    assert sub.queue.empty()
    assert sub.wants({"department_id": dept})
    assert not sub.wants({"department_id": str(TRAFFIC_POLICE)})
    assert not sub.wants({"department_id": "junk"})
    sub.close()


async def test_a_lost_feed_closes_the_socket_to_reconnect(server: str, live_db: Database) -> None:
    operator = await make_actor(live_db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    url = f"ws://{server}/api/v1/ws/devices"
    kill = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
        "application_name = 'citywitness-device-hub' AND datname = current_database() "
        "AND query = 'LISTEN cw_device_state'"
    )
    async with websockets.connect(url, additional_headers=operator.headers) as ws:
        killed = 0
        for _ in range(500):  # the feed's LISTEN is set up just after the handshake
            async with live_db.transaction() as session:
                killed = int(await session.scalar(kill) or 0)
            if killed:
                break
            await asyncio.sleep(0.02)
        assert killed == 1
        with pytest.raises(websockets.ConnectionClosed) as caught:
            await asyncio.wait_for(ws.recv(), timeout=10)
        assert caught.value.rcvd is not None and caught.value.rcvd.code == 1013
    async with websockets.connect(url, additional_headers=operator.headers) as ws:
        await ws.ping()  # a new feed for the next console
