"""SOS press to console: latency from a recorder's SOS being accepted to the alert arriving
on a console WebSocket, p50/p95 over `--presses`, against a raw NOTIFY -> LISTEN baseline.

Setup: an embedded PostgreSQL (or `--external`), migrated; the API under uvicorn on a local
port; the event consumers running as in `serve` (`ConsumerRunner`, woken by NOTIFY); one
operator's WebSocket client on /api/v1/ws/alerts.  Each press: a different recorder's
`sos` event accepted through `accept_message` (its own transaction, as the HTTPS endpoint
and the MQTT bridge do); the clock stops when the client has the `raised` message.  The
path measured: device event -> trigger -> outbox -> NOTIFY -> consumer -> alert + NOTIFY
-> hub -> WebSocket.

Baseline in the same run: `NOTIFY` in a committed transaction to a `LISTEN`ing psycopg
connection, p50/p95 over as many round trips.  Printed: both, and the ratio of the p95s;
`uptime` too (on a shared machine the ratio is what counts).  Goal: p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import uvicorn
import websockets

import citywitness.schema  # noqa: F401 - every model, as in serve
from citywitness.access.levels import Role
from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.alerts import raising
from citywitness.app import create_app
from citywitness.devices.models import Recorder, RecorderState
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.state import ensure_state_row
from citywitness.devices.telemetry import accept_message
from citywitness.identity.models import Membership, User
from citywitness.identity.passwords import hash_password
from citywitness.identity.principals import load_principal
from citywitness.identity.tokens import issue_token
from citywitness.kit import migrate
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database, libpq_url
from citywitness.kit.events import ConsumerRunner
from citywitness.settings import Settings

HOME = uuid.UUID("00000000-0000-4000-8000-000000000001")  # public-security


@contextlib.contextmanager
def database(external: bool) -> Iterator[str]:
    if not external:
        with tempfile.TemporaryDirectory(prefix="cw-bench-alerts-") as tmp:
            server = EmbeddedPostgres(Path(tmp), database="citywitness")
            url = server.start()
            try:
                yield url
            finally:
                server.stop()
        return
    admin = os.environ.get("CW_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"cw_bench_alerts_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def setup(db: Database, count: int) -> tuple[list[DeviceIdentity], dict[str, str]]:
    devices = []
    async with db.transaction() as session:
        for i in range(count):
            recorder = Recorder(
                id=uuid.uuid4(),
                serial=f"SOS-{i:05d}",
                department_id=HOME,
                state=RecorderState.ACTIVE.value,
            )
            session.add(recorder)
            await session.flush()
            await ensure_state_row(session, recorder.id)
            devices.append(DeviceIdentity(recorder.id, recorder.serial, "public-security", HOME))
        user = User(
            id=uuid.uuid4(),
            username="bench-operator",
            display_name="Bench",
            password_hash=hash_password("bench password 1234"),
            clearance=3,
        )
        session.add(user)
        await session.flush()
        session.add(Membership(user_id=user.id, department_id=HOME, role=Role.OPERATOR.value))
        await session.flush()
        token = await issue_token(
            session,
            await load_principal(session, user),
            name="bench",
            scopes=["alerts:read"],
            expires_in_days=1,
        )
    return devices, {"Authorization": f"Bearer {token.secret}"}


def sos(at_iso: str) -> bytes:
    return json.dumps({"msg_id": uuid.uuid4().hex, "kind": "sos", "at": at_iso}).encode()


async def press_to_console(
    db: Database, url: str, devices: list[DeviceIdentity], headers: dict[str, str]
) -> list[float]:
    latencies = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        for device in devices:
            started = time.perf_counter()
            async with db.transaction() as session:
                now = utcnow()
                await accept_message(
                    session,
                    device,
                    "event",
                    sos(now.isoformat()),
                    transport="https",
                    received_at=now,
                )
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                alert = message.get("alert") or {}
                if message.get("event") == "raised" and alert.get("recorder_id") == str(
                    device.device_id
                ):
                    break
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
    return latencies


async def notify_baseline(url: str, count: int) -> list[float]:
    latencies = []
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as listener,
        await psycopg.AsyncConnection.connect(url) as sender,
    ):
        await listener.execute("LISTEN cw_bench")
        for i in range(count):
            started = time.perf_counter()
            await sender.execute("SELECT pg_notify('cw_bench', %s)", (str(i),))
            await sender.commit()
            async for notice in listener.notifies(timeout=10, stop_after=1):
                assert notice.payload == str(i)
            latencies.append(time.perf_counter() - started)
    return latencies


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run(url: str, presses: int) -> None:
    db = Database(url, pool_size=8, max_overflow=4)
    settings = Settings(
        data_dir=Path(tempfile.gettempdir()) / "cw-bench-alerts",
        database={"url": url},  # type: ignore[arg-type]
        jobs={"in_process_worker": False},  # type: ignore[arg-type]
    )
    devices, headers = await setup(db, presses)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, db), log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    runner = ConsumerRunner(db, [raising.consumer()])
    consuming = asyncio.create_task(runner.run())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
        await asyncio.sleep(0.01)
    try:
        ws_url = f"ws://127.0.0.1:{sock.getsockname()[1]}/api/v1/ws/alerts"
        measured = await press_to_console(db, ws_url, devices, headers)
        baseline = await notify_baseline(libpq_url(url), presses)
    finally:
        consuming.cancel()
        server.should_exit = True
        await asyncio.gather(consuming, serving, return_exceptions=True)
        await db.dispose()
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout  # noqa: ASYNC221 - once, after measuring
    print(f"load: {load.strip()}")
    print(f"presses: {presses}")
    print(
        f"SOS -> console WebSocket: p50 {p(measured, 50) * 1000:.1f} ms,"
        f" p95 {p(measured, 95) * 1000:.1f} ms, max {max(measured) * 1000:.1f} ms"
    )
    print(
        f"baseline NOTIFY -> LISTEN:  p50 {p(baseline, 50) * 1000:.2f} ms,"
        f" p95 {p(baseline, 95) * 1000:.2f} ms"
    )
    print(f"ratio of p95s (SOS / baseline): {p(measured, 95) / p(baseline, 95):.1f}")
    print(f"goal p95 <= 1000 ms: {'met' if p(measured, 95) <= 1.0 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--external", action="store_true", help="use CW_BENCH_ADMIN_URL")
    args = parser.parse_args()
    with database(args.external) as url:
        migrate.upgrade(url)
        asyncio.run(run(url, args.presses))


if __name__ == "__main__":
    main()
