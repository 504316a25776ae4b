"""Positions accepted per second through `accept_message`, against a plain INSERT baseline.

Workload: `--recorders` enrolled recorders send `--messages` telemetry messages of
`--positions` positions each (JSON bytes, as they arrive over MQTT or HTTPS), spread over
the recorders, each with a health reading.  Measured, in the same run and on the same
database:

- accept, 1 msg/txn: `--workers` concurrent tasks, one transaction per message (what the
  HTTPS endpoint does): parse, time window, dedup row, partition check, one
  INSERT ... SELECT FROM unnest for the positions, hot state (throttled) and NOTIFY;
- accept, batched: the same, `--batch` messages per transaction (sorted by recorder, as
  an MQTT consumer would take them);
- baseline: psycopg `executemany` INSERT of the same number of position rows, 1,000 rows
  per transaction, `--workers` concurrent connections, nothing else.

Printed: positions per second for each, and each accept mode's ratio to the baseline.
Database: an embedded PostgreSQL in a temporary directory (default), or `--external`
(CW_BENCH_ADMIN_URL, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.devices.credentials import issue_credential
from citywitness.devices.models import Recorder, RecorderState
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.state import ensure_state_row
from citywitness.devices.tasks import upkeep
from citywitness.devices.telemetry import accept_message
from citywitness.kit import migrate
from citywitness.kit.db import Database, libpq_url
from citywitness.settings.sections import DevicesSettings

HOME = uuid.UUID("00000000-0000-4000-8000-000000000001")  # public-security


@contextlib.contextmanager
def database(external: bool) -> Iterator[str]:
    if not external:
        with tempfile.TemporaryDirectory(prefix="cw-bench-telemetry-") as tmp:
            server = EmbeddedPostgres(Path(tmp), database="citywitness")
            url = server.start()
            try:
                yield url
            finally:
                server.stop()
        return
    admin = os.environ.get("CW_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"cw_bench_telemetry_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def recorders(db: Database, count: int) -> list[DeviceIdentity]:
    found = []
    async with db.transaction() as session:
        for i in range(count):
            recorder = Recorder(
                id=uuid.uuid4(),
                serial=f"BENCH-{i:06d}",
                department_id=HOME,
                state=RecorderState.ACTIVE.value,
            )
            session.add(recorder)
            await session.flush()
            await ensure_state_row(session, recorder.id)
            await issue_credential(session, recorder.id)
            found.append(DeviceIdentity(recorder.id, recorder.serial, "public-security", HOME))
        await upkeep(session, DevicesSettings(), datetime.now(UTC))
    return found


def workload(
    devices: list[DeviceIdentity], messages: int, positions: int, start: datetime, tag: str
) -> list[tuple[DeviceIdentity, bytes]]:
    out = []
    for m in range(messages):
        device = devices[m % len(devices)]
        base = start + timedelta(seconds=m // len(devices) * positions)
        body = {
            "msg_id": f"{tag}-{m}",
            "battery_pct": 90 - (m % 50),
            "positions": [
                {
                    "lat": 31.2 + 0.0001 * p,
                    "lon": 121.4 + 0.0001 * m % 1,
                    "accuracy_m": 5.0,
                    "speed_mps": 1.4,
                    "heading_deg": 90.0,
                    "fix": "beidou",
                    "at": (base + timedelta(seconds=p)).isoformat(),
                }
                for p in range(positions)
            ],
        }
        out.append((device, json.dumps(body).encode()))
    return out


async def accept_all(
    db: Database, work: list[tuple[DeviceIdentity, bytes]], workers: int, batch: int
) -> float:
    """Seconds to accept every message, `batch` per transaction, `workers` at a time."""
    chunks = [
        sorted(work[i : i + batch], key=lambda item: str(item[0].device_id))
        for i in range(0, len(work), batch)
    ]
    queue: asyncio.Queue[list[tuple[DeviceIdentity, bytes]]] = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)

    async def worker() -> None:
        while not queue.empty():
            chunk = queue.get_nowait()
            async with db.transaction() as session:
                for device, raw in chunk:
                    received = datetime.now(UTC)
                    await accept_message(
                        session, device, "telemetry", raw, transport="mqtt", received_at=received
                    )

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - began


async def baseline(url: str, work: list[tuple[DeviceIdentity, bytes]], workers: int) -> float:
    """Seconds to INSERT the same positions with executemany, 1,000 rows per transaction."""
    rows = []
    for device, raw in work:
        body = json.loads(raw)
        for seq, p in enumerate(body["positions"]):
            rows.append(
                (device.device_id, p["at"], "base-" + body["msg_id"], seq, p["lat"], p["lon"],
                 p["accuracy_m"], p["speed_mps"], p["heading_deg"], p["fix"])
            )  # fmt: skip
    chunks = [rows[i : i + 1000] for i in range(0, len(rows), 1000)]
    sql = (
        "INSERT INTO device_positions (recorder_id, at, msg_id, seq, lat, lon, accuracy_m,"
        " speed_mps, heading_deg, fix, received_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())"
    )

    async def worker(mine: list[list[tuple[object, ...]]]) -> None:
        async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
            for chunk in mine:
                async with conn.cursor() as cur:
                    await cur.executemany(sql, chunk)
                await conn.commit()

    began = time.perf_counter()
    await asyncio.gather(*(worker(chunks[i::workers]) for i in range(workers)))
    return time.perf_counter() - began


async def measure(url: str, args: argparse.Namespace) -> None:
    db = Database(url, pool_size=args.workers + 2)
    try:
        devices = await recorders(db, args.recorders)
        start = datetime.now(UTC) - timedelta(hours=1)
        total = args.messages * args.positions
        one = workload(devices, args.messages, args.positions, start, "one")
        batched = workload(devices, args.messages, args.positions, start, "batch")
        base_s = await baseline(url, one, args.workers)
        one_s = await accept_all(db, one, args.workers, 1)
        batch_s = await accept_all(db, batched, args.workers, args.batch)
        base_rate = total / base_s
        print(f"{args.messages} messages x {args.positions} positions, "
              f"{args.recorders} recorders, {args.workers} workers")  # fmt: skip
        print(f"baseline executemany INSERT:  {base_rate:10.0f} positions/s")
        for label, seconds in (
            ("accept, 1 msg/txn", one_s),
            (f"accept, {args.batch} msg/txn", batch_s),
        ):
            rate = total / seconds
            print(
                f"{label:<28} {rate:10.0f} positions/s  ({args.messages / seconds:8.0f} msg/s)"
                f"  ratio to baseline {rate / base_rate:.2f}"
            )
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recorders", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--positions", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--external", action="store_true", help="use CW_BENCH_ADMIN_URL")
    args = parser.parse_args()
    with database(args.external) as url:
        migrate.upgrade(url)
        asyncio.run(measure(url, args))


if __name__ == "__main__":
    main()
