"""The probes of bench/bench_fleet.py: baseline subscribers, stored rows, percentiles."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
import uuid
from typing import Any

import psycopg

from citywitness.simulator.mqtt_client import MqttClient


class Baseline:
    """`mosquitto_sub` on the telemetry topics: arrival time of each of our messages."""

    def __init__(self, host: str, port: int, serial_prefix: str) -> None:
        self.times: list[float] = []
        self.marker = f"/{serial_prefix}"
        self.process = subprocess.Popen(
            ["mosquitto_sub", "-h", host, "-p", str(port), "-q", "1",
             "-t", "cw/+/+/telemetry", "-F", "%t"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if self.marker in line:
                self.times.append(time.time())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class PingBaseline:
    """Raw MQTT: our client publishes a timestamp at QoS 1, `mosquitto_sub` prints it."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.host, self.port, self.topic = host, port, topic
        self.latencies: list[float] = []
        self.process = subprocess.Popen(
            ["mosquitto_sub", "-h", host, "-p", str(port), "-q", "1", "-t", topic, "-F", "%p"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            arrived = time.time()
            try:
                self.latencies.append(arrived - float(line))
            except ValueError:
                continue

    async def run(self, count: int, seconds: float) -> None:
        client = MqttClient(self.host, self.port, client_id=f"cw-bench-ping-{uuid.uuid4().hex[:8]}")
        await client.connect()
        try:
            for _ in range(count):
                await asyncio.sleep(seconds / count)
                await client.publish(self.topic, repr(time.time()).encode(), qos=1)
        finally:
            await client.disconnect()

    def stop(self) -> None:
        time.sleep(0.5)
        self.process.terminate()
        self.process.wait(10)


Stored = tuple[int, dict[str, tuple[int, int]], dict[str, float]]


def stored(db_url: str, recorder_ids: list[str]) -> Stored:
    """Telemetry messages, recorder id -> (position rows, distinct fixes), msg_id ->
    received_at epoch, for our recorders; one snapshot (repeatable read), so that messages
    and positions committed together are counted together."""
    plain = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        received = {
            msg_id: at.timestamp()
            for msg_id, at in conn.execute(
                "SELECT msg_id, received_at FROM device_messages "
                "WHERE kind = 'telemetry' AND recorder_id = ANY(%s::uuid[])",
                (recorder_ids,),
            )
        }
        per = {
            str(rid): (int(rows), int(fixes))
            for rid, rows, fixes in conn.execute(
                "SELECT recorder_id, count(*), count(DISTINCT at) FROM device_positions "
                "WHERE recorder_id = ANY(%s::uuid[]) GROUP BY recorder_id",
                (recorder_ids,),
            )
        }
    return len(received), per, received


def compare_positions(sent: dict[str, int], per: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """Per recorder: what the broker acknowledged against what was stored."""
    missing = sum(max(0, n - per.get(rid, (0, 0))[1]) for rid, n in sent.items())
    extra = sum(max(0, per.get(rid, (0, 0))[1] - n) for rid, n in sent.items())
    return {
        "positions_sent": sum(sent.values()),
        "positions_stored": sum(rows for rows, _ in per.values()),
        "positions_missing": missing,
        "positions_unexpected": extra,
        "positions_duplicates": sum(rows - fixes for rows, fixes in per.values()),
        "recorders_not_equal": sum(per.get(rid, (0, 0))[0] != n for rid, n in sent.items()),
    }


def wait_stored(db_url: str, ids: list[str], sent: dict[str, int]) -> Stored:
    """Poll until every recorder's positions are stored (at most 180 s)."""
    deadline = time.monotonic() + 180
    while True:
        found = stored(db_url, ids)
        if all(found[1].get(rid, (0, 0))[1] >= n for rid, n in sent.items()):
            return found
        if time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def rate(times: list[float]) -> float:
    if len(times) < 2 or max(times) == min(times):
        return 0.0
    return (len(times) - 1) / (max(times) - min(times))


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def spread(values: list[float]) -> dict[str, float | int | None]:
    """Count, p50, p95 and max of `values` (seconds) in milliseconds."""
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.50) * 1000, 1) if values else None,
        "p95": round(percentile(values, 0.95) * 1000, 1) if values else None,
        "max": round(max(values) * 1000, 1) if values else None,
    }
