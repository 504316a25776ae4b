"""A simulated fleet against a real `citywitness serve`: sent vs stored, msg/s, latency.

An embedded PostgreSQL in a temporary directory (started here, so that the stored rows can
be counted), `citywitness serve` on it in a child process, a platform admin and an API
token, then DEVICES virtual recorders (each its own MQTT connection and credential) for
DURATION seconds, in this process.  In the same run, a bare subscriber counts the same
telemetry stream at the broker: `mosquitto_sub` (the baseline), so the platform's end-to-end
rate (broker -> bridge -> stored) reads as a ratio against raw consumption.

By default the broker is the shared Mosquitto on 127.0.0.1:1883 (anonymous: the baseline
subscriber needs no device credential; the bridge gets a client id of its own); with
`--broker embedded` the platform's own amqtt broker is used and the baseline is skipped
(it admits only recorders and the bridge).

    .venv/bin/python bench/bench_fleet.py                        # 1,000 recorders, 60 s
    .venv/bin/python bench/bench_fleet.py --devices 200 --duration 30 --report-interval 2

Prints one JSON object: positions sent and stored, telemetry messages sent, seen by the
baseline and stored, each rate in msg/s over its own first-to-last window, the ratio
stored/baseline, send-to-received latency percentiles (the bridge's `received_at` minus
the simulator's send time), the drain time after the fleet stopped, and what the fleet
cost this process (CPU seconds, resident memory per connection).  Timing is noisy on a
shared 2-core machine: compare ratios, and note the load average printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from citywitness.runtime import database_url
from citywitness.settings import Settings
from citywitness.simulator.fleet import Fleet, FleetOptions
from citywitness.simulator.provision import SCOPES
from citywitness.simulator.recorder import Behaviour

PASSWORD = "bench fleet password, long enough"  # noqa: S105 - a throwaway platform


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def start_platform(
    args: argparse.Namespace, root: Path, db_url: str
) -> tuple[subprocess.Popen[bytes], dict[str, str], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CW_")}
    env.update(
        CW_DATA_DIR=str(root / "data"),
        CW_DATABASE__URL=db_url,
        CW_SERVER__PORT=str(port),
        CW_SERVER__PUBLIC_URL=f"http://127.0.0.1:{port}",
        CW_LOGGING__LEVEL="WARNING",
        CW_MQTT__BRIDGE_CLIENT_ID=f"cw-bench-{uuid.uuid4().hex[:8]}",
    )
    if args.broker == "embedded":
        args.mqtt_port = free_port()
        env["CW_MQTT__LISTEN_PORT"] = str(args.mqtt_port)
    else:
        env["CW_MQTT__URL"] = f"mqtt://{args.mqtt_host}:{args.mqtt_port}/"
    log = (root / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "citywitness", "serve"], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, env, url
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"serve exited: {(root / 'serve.log').read_text()[-2000:]}")
        time.sleep(0.3)
    raise SystemExit("serve not ready in 180 s")


def admin_token(url: str, env: dict[str, str]) -> str:
    created = subprocess.run(
        [sys.executable, "-m", "citywitness", "users", "create", "--username", "bench-admin",
         "--display-name", "Bench", "--department", "public-security", "--role",
         "platform_admin", "--password-stdin"],
        input=PASSWORD + "\n", env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    del created
    login = httpx.post(
        f"{url}/api/v1/auth/login", json={"username": "bench-admin", "password": PASSWORD}
    )
    session = {"Cookie": f"cw_session={login.cookies['cw_session']}",
               "X-CSRF-Token": login.json()["csrf_token"]}  # fmt: skip
    issued = httpx.post(
        f"{url}/api/v1/auth/tokens",
        headers=session,
        json={"name": "bench", "scopes": list(SCOPES), "expires_in_days": 1},
    )
    return str(issued.json()["secret"])


def stored(db_url: str, recorder_ids: list[str]) -> tuple[int, int, dict[str, float]]:
    """(telemetry messages, positions, msg_id -> received_at epoch) for our recorders."""
    plain = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        received = {
            msg_id: at.timestamp()
            for msg_id, at in conn.execute(
                "SELECT msg_id, received_at FROM device_messages "
                "WHERE kind = 'telemetry' AND recorder_id = ANY(%s::uuid[])",
                (recorder_ids,),
            )
        }
        row = conn.execute(
            "SELECT count(*) FROM device_positions WHERE recorder_id = ANY(%s::uuid[])",
            (recorder_ids,),
        ).fetchone()
    return len(received), int(row[0]) if row else 0, received


def rate(times: list[float]) -> float:
    if len(times) < 2 or max(times) == min(times):
        return 0.0
    return (len(times) - 1) / (max(times) - min(times))


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run_fleet(args: argparse.Namespace, url: str, token: str) -> tuple[Fleet, dict[str, Any]]:
    options = FleetOptions(
        devices=args.devices,
        url=url,
        mqtt_url=f"mqtt://{args.mqtt_host}:{args.mqtt_port}",
        video=args.video,
        seed=args.seed,
        https_share=args.https_share,
        departments=["public-security"],
        behaviour=Behaviour(
            fix_interval_s=args.fix_interval,
            report_interval_s=args.report_interval,
            sos_per_hour=0.05,
            drops_per_hour=args.drops_per_hour,
            status_interval_s=60,
        ),
        drain_timeout_s=120,
        track_send_times=True,
    )
    fleet = Fleet(options, token)
    me = psutil.Process()
    await fleet.setup()
    rss_before, cpu_before = me.memory_info().rss, me.cpu_times()
    fleet.start()
    await asyncio.sleep(args.duration)
    rss_connected = me.memory_info().rss
    await fleet.stop()
    cpu_after = me.cpu_times()
    cost = {
        "fleet_cpu_seconds": round(
            (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system), 2
        ),
        "fleet_rss_mb": round(rss_connected / 2**20, 1),
        "rss_per_recorder_kb": round((rss_connected - rss_before) / max(1, args.devices) / 1024, 1),
    }
    return fleet, cost


def build_report(  # noqa: PLR0917 - the measurements of one run, private
    args: argparse.Namespace,
    summary: dict[str, Any],
    cost: dict[str, Any],
    found: tuple[int, int, dict[str, float]],
    sent_at: dict[str, float],
    baseline: Baseline | None,
    drained: float,
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    msgs, positions, received = found
    sent_msgs = summary["messages"].get("telemetry", 0)
    lags = [received[m] - sent_at[m] for m in received if m in sent_at]
    e2e = rate(list(received.values()))
    base = rate(baseline.times) if baseline is not None else None
    return {
        "devices": args.devices,
        "duration_s": args.duration,
        "broker": args.broker,
        "setup_seconds": summary["setup_seconds"],
        "transports": summary["transports"],
        "positions_sent": summary["positions"],
        "positions_stored": positions,
        "positions_equal": positions == summary["positions"],
        "telemetry_sent": sent_msgs,
        "telemetry_seen_by_baseline": len(baseline.times) if baseline is not None else None,
        "telemetry_stored": msgs,
        "offered_msg_per_s": round(sent_msgs / max(summary["run_seconds"], 1e-9), 1),
        "baseline_msg_per_s": round(base, 1) if base is not None else None,
        "stored_msg_per_s": round(e2e, 1),
        "ratio_stored_to_baseline": round(e2e / base, 3) if base else None,
        "latency_send_to_received_ms": {
            "p50": round(percentile(lags, 0.50) * 1000, 1),
            "p95": round(percentile(lags, 0.95) * 1000, 1),
            "max": round(max(lags) * 1000, 1) if lags else None,
        },
        "drain_after_stop_s": round(drained, 2),
        "resends": summary["resends"],
        "undelivered": summary["undelivered"],
        **cost,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--report-interval", type=float, default=10.0)
    parser.add_argument("--fix-interval", type=float, default=2.0)
    parser.add_argument("--https-share", type=float, default=0.0)
    parser.add_argument("--drops-per-hour", type=float, default=0.0)
    parser.add_argument("--video", type=int, default=0)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--broker", choices=("mosquitto", "embedded"), default="mosquitto")
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    args = parser.parse_args()
    if args.broker == "mosquitto" and shutil.which("mosquitto_sub") is None:
        raise SystemExit(
            "mosquitto_sub not found (Debian: mosquitto-clients); or --broker embedded"
        )
    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="cw-bench-fleet-"))
    settings = Settings(data_dir=root / "data")
    with database_url(settings) as db_url:
        process, env, url = start_platform(args, root, db_url)
        try:
            token = admin_token(url, env)
            baseline = (
                Baseline(args.mqtt_host, args.mqtt_port, f"SIM{args.seed}-")
                if args.broker == "mosquitto"
                else None
            )
            time.sleep(0.5)  # the subscription is in place before the first publish
            fleet, cost = asyncio.run(run_fleet(args, url, token))
            stopped = time.time()
            summary = fleet.summary()
            ids = [r.credential.recorder_id for r in fleet.recorders]
            sent_at = {k: v for r in fleet.recorders for k, v in (r.tally.sent_at or {}).items()}
            sent_msgs = summary["messages"].get("telemetry", 0)
            deadline = time.monotonic() + 180
            while True:
                msgs, positions, received = stored(db_url, ids)
                if msgs >= sent_msgs or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            drained = time.time() - stopped
            if baseline is not None:
                baseline.stop()
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
    report = build_report(
        args, summary, cost, (msgs, positions, received), sent_at, baseline, drained, load_before
    )
    print(json.dumps(report, indent=2))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
