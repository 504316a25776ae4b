"""Telemetry end to end: recorders -> Mosquitto -> bridge -> stored -> pushed to consoles,
against raw `mosquitto_sub` consumption of the same stream in the same run.

`--recorders` recorders are registered (one batch of SQL).  `--publishers` processes
(paho, QoS 1) publish one telemetry message (one position, ~190 bytes) per recorder in
turn, paced to `--rate` messages per second for `--seconds`.  At the same time:

- baseline: `mosquitto_sub -q 1` on the same topics counts what the broker delivers;
- the platform: `MqttBridge` (QoS 1, persistent session, acknowledged after commit;
  `--batch` messages per transaction, `--concurrency` transactions at once) stores them,
  and a console subscriber of `devices.live.StateHub` (what the console WebSocket is fed
  from) counts the pushed states (at most one per recorder per second).

Printed: offered rate, msg/s received by mosquitto_sub, stored and pushed msg/s (over the
time from the first publish to the last commit), their ratio to mosquitto_sub, the
bridge's worst lag, messages lost (published, not stored) and duplicated (stored
twice: impossible by the primary keys, checked anyway), the load average, and where the
bridge's time went (`--profile`: cProfile of the bridge's process, top functions).

Broker: `--broker mqtt://127.0.0.1:1883` (anonymous, default), or `--private` to start a
Mosquitto of its own with the settings docs/devices.md asks for (max_queued_messages 0).
Database: the PostgreSQL at CW_BENCH_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/
postgres), a database made and dropped for the run.

    .venv/bin/python bench/bench_telemetry.py --rate 10000 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from citywitness.devices.live import StateHub, Subscriber
from citywitness.devices.mqtt_bridge import BrokerEndpoint, MqttBridge
from citywitness.kit import migrate
from citywitness.kit.db import Database, libpq_url

HOME = "00000000-0000-4000-8000-000000000001"  # public-security
DEPARTMENT = "public-security"


@contextlib.contextmanager
def database() -> Iterator[str]:
    admin = os.environ.get("CW_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"cw_bench_telemetry_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def private_mosquitto(port: int) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="cw-bench-mosq-") as tmp:
        config = Path(tmp) / "mosquitto.conf"
        config.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nuser root\n"
            "max_queued_messages 0\nmax_inflight_messages 0\npersistence false\n"
        )
        process = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(config)])
        time.sleep(0.5)
        try:
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


def register(url: str, tag: str, count: int) -> None:
    """`count` active recorders, online (a fleet in steady state), in two statements."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO recorders (id, serial, department_id, state, created_at, updated_at)"
            " SELECT gen_random_uuid(), %s || lpad(i::text, 6, '0'), %s, 'active', now(), now()"
            " FROM generate_series(0, %s - 1) AS i",
            (f"{tag}-", HOME, count),
        )
        conn.execute(
            "INSERT INTO device_state (recorder_id, online, last_seen_at, written_at)"
            " SELECT id, true, now(), now() - interval '1 minute' FROM recorders"
            " WHERE serial LIKE %s",
            (f"{tag}-%",),
        )


def publish(
    host: str, port: int, *, tag: str, index: int, of: int, recorders: int, pace: Pacing
) -> None:
    """One publisher process: QoS 1, paced, recorders `index`, `index + of`, ... in turn."""
    serials = [f"{tag}-{i:06d}" for i in range(index, recorders, of)]
    name = f"{tag}-p{index}"
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name)
    client.max_inflight_messages_set(1000)
    client.connect(host, port)
    client.loop_start()
    pace.go.wait()
    started, sent, last = time.perf_counter(), 0, None
    total = int(pace.rate * pace.seconds)
    while sent < total:
        due = min(total, int((time.perf_counter() - started) * pace.rate) + 1)
        while sent < due:
            serial = serials[sent % len(serials)]
            at = datetime.now(UTC).isoformat()
            body = {
                "msg_id": f"{name}-{sent}",
                "battery_pct": 80,
                "positions": [{"lat": 31.2, "lon": 121.4, "fix": "gps", "at": at}],
            }
            last = client.publish(f"cw/{DEPARTMENT}/{serial}/telemetry", json.dumps(body), qos=1)
            sent += 1
        time.sleep(0.002)
    if last is not None:
        last.wait_for_publish(300)
    client.disconnect()
    client.loop_stop()


@dataclass(frozen=True)
class Pacing:
    rate: float  # per publisher
    seconds: float
    go: Any  # a multiprocessing Event: all publishers start together


class SubCount:
    """`mosquitto_sub` on this run's topics; counts lines (one per message) as they come."""

    def __init__(self, host: str, port: int, tag: str) -> None:
        self.count, self.first, self.last = 0, 0.0, 0.0
        self.process = subprocess.Popen(
            [
                "mosquitto_sub",
                "-h",
                host,
                "-p",
                str(port),
                "-q",
                "1",
                "-F",
                "%t",
                "-t",
                f"cw/{DEPARTMENT}/+/telemetry",
                "-i",
                f"bench-sub-{tag}",
            ],
            stdout=subprocess.PIPE,
        )
        self.thread = threading.Thread(target=self._read, args=(tag,), daemon=True)
        self.thread.start()

    def _read(self, tag: str) -> None:
        assert self.process.stdout is not None
        mine = f"/{tag}-".encode()
        for line in self.process.stdout:
            if mine in line:
                self.count += 1
                self.last = time.perf_counter()
                self.first = self.first or self.last

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@contextlib.asynccontextmanager
async def console(url: str) -> AsyncIterator[Subscriber]:
    hub = StateHub(libpq_url(url))
    subscriber = Subscriber(departments=None)
    await hub.subscribe(subscriber)
    try:
        yield subscriber
    finally:
        await hub.unsubscribe(subscriber)


async def counts(url: str, tag: str) -> tuple[int, int, int]:
    """(messages recorded, positions stored, positions sharing a msg_id with another)."""
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM device_messages m JOIN recorders r ON r.id ="
            " m.recorder_id WHERE r.serial LIKE %s), count(*), count(*) - count(DISTINCT"
            " (p.recorder_id, p.msg_id)) FROM device_positions p JOIN recorders r"
            " ON r.id = p.recorder_id WHERE r.serial LIKE %s",
            (f"{tag}-%", f"{tag}-%"),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


@dataclass
class Seen:
    pushed: int = 0
    last_push: float = 0.0
    stored_at: float = 0.0

    def take(self, subscriber: Subscriber) -> None:
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
            self.pushed, self.last_push = self.pushed + 1, time.perf_counter()


async def watch(
    bridge: MqttBridge,
    pushed: Subscriber,
    sub: SubCount,
    pubs: list[multiprocessing.process.BaseProcess],
    *,
    expected: int,
    deadline: float,
) -> Seen:
    """Count pushes until everything is stored and seen by mosquitto_sub (or the deadline)."""
    seen = Seen()
    while time.perf_counter() < deadline:
        seen.take(pushed)
        if bridge.store.counts["stored"] < expected:
            seen.stored_at = time.perf_counter()
        elif all(not p.is_alive() for p in pubs) and sub.count >= expected:
            break
        await asyncio.sleep(0.02)
    return seen


async def run(url: str, broker: str, args: argparse.Namespace) -> None:
    tag = f"BT{os.getpid()}"
    register(url, tag, args.recorders)
    endpoint = BrokerEndpoint.from_url(broker)
    db = Database(url, pool_size=args.concurrency + 2)
    bridge = MqttBridge(
        db,
        endpoint,
        client_id=f"bench-bridge-{tag}",
        batch_size=args.batch,
        concurrency=args.concurrency,
    )
    sub = SubCount(endpoint.host, endpoint.port, tag)
    profile = cProfile.Profile() if args.profile else None
    async with console(url) as pushed:
        await bridge.start()
        await asyncio.sleep(0.5)  # mosquitto_sub subscribed
        share = args.rate / args.publishers
        ctx = multiprocessing.get_context("spawn")
        pace = Pacing(rate=share, seconds=args.seconds, go=ctx.Event())
        pubs = [
            ctx.Process(
                target=publish,
                args=(endpoint.host, endpoint.port),
                kwargs={
                    "tag": tag,
                    "index": i,
                    "of": args.publishers,
                    "recorders": args.recorders,
                    "pace": pace,
                },
            )
            for i in range(args.publishers)
        ]
        for p in pubs:  # started (imports, connect) before the clock runs
            await asyncio.to_thread(p.start)
        await asyncio.sleep(3)
        if profile:
            profile.enable()
        started = time.perf_counter()
        pace.go.set()
        expected = int(share * args.seconds) * args.publishers
        deadline = started + args.seconds + args.drain
        seen = await watch(bridge, pushed, sub, pubs, expected=expected, deadline=deadline)
        held = (bridge.lag.backlog, bridge.lag.in_flight)
        if profile:
            profile.disable()
        await asyncio.sleep(1.2)  # the last pushes (one per recorder per second)
        seen.take(pushed)
        for p in pubs:
            p.join(30)
        await bridge.stop()
    sub.stop()
    load = os.getloadavg()
    recorded, positions, dupes = await counts(url, tag)
    await db.dispose()
    await forget_session(endpoint, bridge.client_id)
    stored_s = max(seen.stored_at, started + 1e-3) - started
    sub_rate = sub.count / max(sub.last - started, 1e-3)
    stored_rate = bridge.store.counts["stored"] / stored_s
    push_rate = seen.pushed / max(seen.last_push - started, 1e-3)
    print(
        f"broker {broker}; {args.recorders} recorders; offered {args.rate:.0f} msg/s for "
        f"{args.seconds:.0f} s ({expected} messages, QoS 1); batch {args.batch} x "
        f"{args.concurrency}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"mosquitto_sub (baseline) : {sub.count:8d} msgs {sub_rate:9.0f} msg/s")
    print(
        f"stored (committed)       : {bridge.store.counts['stored']:8d} msgs {stored_rate:9.0f} "
        f"msg/s  ratio to mosquitto_sub {stored_rate / sub_rate:.2f}"
    )
    print(
        f"pushed (console states)  : {seen.pushed:8d} msgs {push_rate:9.0f} msg/s  "
        f"ratio to mosquitto_sub {push_rate / sub_rate:.2f}"
    )
    print(
        f"bridge lag: max {bridge.lag.max_lag_seconds:.1f} s; backlog and in flight at the end "
        f"{held}; outcomes {dict(bridge.store.counts)}"
    )
    print(
        f"not stored by the end: {expected - recorded} (still queued at the broker, or lost); "
        f"duplicate positions {dupes}; positions stored {positions}"
    )
    if profile:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(18)
        print(out.getvalue())


async def forget_session(endpoint: BrokerEndpoint, client_id: str) -> None:
    """Drop the bridge's persistent session from the shared broker (clean start, expiry 0)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    await asyncio.to_thread(client.connect, endpoint.host, endpoint.port, clean_start=True)
    client.loop_start()
    await asyncio.sleep(0.3)
    client.disconnect()
    client.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--private", action="store_true", help="start a Mosquitto of its own")
    parser.add_argument("--recorders", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--drain", type=float, default=30, help="most seconds to wait after")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        broker = args.broker
        if args.private:
            broker = stack.enter_context(private_mosquitto(18831))
        url = stack.enter_context(database())
        migrate.upgrade(url)
        asyncio.run(run(url, broker, args))


if __name__ == "__main__":
    main()
