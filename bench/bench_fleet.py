"""Issue 5's done-when as a benchmark: a fleet against a real `citywitness serve`.

An embedded PostgreSQL in a temporary directory (started here, so that the stored rows can
be counted), `citywitness serve` on it in a child process, a platform admin and an API
token, then DEVICES virtual recorders (each its own MQTT connection and credential) for
DURATION seconds, in this process, and a console WebSocket client on `/api/v1/ws/alerts`.

- **Positions**: per recorder, the positions whose message the broker acknowledged (PUBACK;
  the HTTPS answer for HTTPS recorders: the simulator's truth) against the rows stored in
  `device_positions` for it: sent, stored, missing, duplicates (rows beyond one per fix).
- **SOS**: SOS presses (`--sos`, spread evenly over the run, on distinct recorders while
  there are enough), each timestamped by the simulator at the press; its delivery is the
  console push (`raised`, or `repeated` with the matching occurrence count): p50/p95/max.
- **Baselines in the same run**: raw MQTT publish (QoS 1, our client) -> `mosquitto_sub`
  delivery latency on the shared Mosquitto (what any MQTT push costs here), and, with the
  Mosquitto broker, a bare `mosquitto_sub` on the fleet's telemetry (msg/s, the ratio
  stored/baseline).

By default the broker is the shared Mosquitto on 127.0.0.1:1883 (anonymous: the baseline
subscriber needs no device credential; the bridge gets a client id of its own); with
`--broker embedded` the platform's own amqtt broker is used and the telemetry baseline is
skipped (it admits only recorders and the bridge).

    .venv/bin/python bench/bench_fleet.py --devices 1000 --duration 300   # the done-when
    .venv/bin/python bench/bench_fleet.py --devices 100 --duration 60 --sos 60

Prints one JSON object, with the load average before and after: timing is noisy on a
shared 2-core machine.  `done_when` is true when sent == stored for every recorder with no
duplicates, every SOS was delivered, and the SOS p95 is at most 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil
from fleet_probes import (
    Baseline,
    PingBaseline,
    Stored,
    compare_positions,
    rate,
    spread,
    wait_stored,
)

from citywitness.runtime import database_url
from citywitness.settings import Settings
from citywitness.simulator.console import AlertConsole, SosDelivery
from citywitness.simulator.fleet import Fleet, FleetOptions
from citywitness.simulator.provision import SCOPES
from citywitness.simulator.recorder import Behaviour

PASSWORD = "bench fleet password, long enough"  # noqa: S105 - a throwaway platform


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
        json={"name": "bench", "scopes": [*SCOPES, "alerts:read"], "expires_in_days": 1},
    )
    return str(issued.json()["secret"])


async def press_sos(fleet: Fleet, presses: int, duration: float, seed: int) -> None:
    """`presses` SOS presses evenly over the middle 80 % of the run, distinct recorders
    first (a recorder pressing again repeats its open alert)."""
    rng = random.Random(seed)  # noqa: S311 - a schedule, not a secret
    order = rng.sample(fleet.recorders, len(fleet.recorders))
    gap = duration * 0.8 / max(1, presses)
    await asyncio.sleep(duration * 0.1)
    for i in range(presses):
        order[i % len(order)].press_sos()
        await asyncio.sleep(gap)


async def run_fleet(
    args: argparse.Namespace, url: str, token: str, serve: psutil.Process
) -> tuple[Fleet, dict[str, Any], SosDelivery]:
    options = FleetOptions(
        devices=args.devices,
        url=url,
        mqtt_url=f"mqtt://{args.mqtt_host}:{args.mqtt_port}",
        seed=args.seed,
        https_share=args.https_share,
        departments=["public-security"],
        behaviour=Behaviour(
            fix_interval_s=args.fix_interval,
            report_interval_s=args.report_interval,
            sos_per_hour=0,  # the presses are scheduled (press_sos)
            drops_per_hour=args.drops_per_hour,
            status_interval_s=60,
        ),
        drain_timeout_s=120,
        track_send_times=True,
    )
    fleet = Fleet(options, token)
    console = AlertConsole(url, token)
    ping = PingBaseline(args.ping_host, args.ping_port, f"cwbench/{args.seed}/ping")
    me = psutil.Process()
    await fleet.setup()
    await console.start()
    rss_before, cpu_before = me.memory_info().rss, me.cpu_times()
    serve_before = serve.cpu_times()
    fleet.start()
    await asyncio.gather(
        press_sos(fleet, args.sos, args.duration, args.seed),
        ping.run(args.pings, args.duration),
        asyncio.sleep(args.duration),
    )
    rss_connected = me.memory_info().rss
    await fleet.stop()
    cpu_after, serve_after = me.cpu_times(), serve.cpu_times()
    delivered = await console.wait_for(fleet.sos_presses(), timeout_s=60)
    await console.close()
    ping.stop()
    cost = {
        "fleet_cpu_seconds": round(
            (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system), 2
        ),
        "fleet_rss_mb": round(rss_connected / 2**20, 1),
        "serve_cpu_seconds": round(
            (serve_after.user + serve_after.system) - (serve_before.user + serve_before.system), 2
        ),
        "rss_per_recorder_kb": round((rss_connected - rss_before) / max(1, args.devices) / 1024, 1),
        "mqtt_ping_ms": spread(ping.latencies),
        "console_messages": console.received,
    }
    return fleet, cost, delivered


def build_report(  # noqa: PLR0917 - the measurements of one run, private
    args: argparse.Namespace,
    summary: dict[str, Any],
    cost: dict[str, Any],
    found: Stored,
    sent_at: dict[str, float],
    baseline: Baseline | None,
    sos: SosDelivery,
    drained: float,
) -> dict[str, Any]:
    msgs, per, received = found
    sent = {r["recorder_id"]: r["positions"] for r in summary["per_recorder"].values()}
    positions = compare_positions(sent, per)
    sent_msgs = summary["messages"].get("telemetry", 0)
    lags = [received[m] - sent_at[m] for m in received if m in sent_at]
    e2e = rate(list(received.values()))
    base = rate(baseline.times) if baseline is not None else None
    sos_ms = spread(sos.latencies)
    ping = cost.pop("mqtt_ping_ms")
    exact = positions["recorders_not_equal"] == 0 and positions["positions_duplicates"] == 0
    return {
        "devices": args.devices,
        "duration_s": args.duration,
        "broker": args.broker,
        "setup_seconds": summary["setup_seconds"],
        "transports": summary["transports"],
        **positions,
        "positions_equal": exact,
        "sos_presses": sos.presses,
        "sos_delivered": len(sos.latencies),
        "sos_undelivered": sos.undelivered,
        "sos_press_to_console_ms": sos_ms,
        "baseline_mqtt_publish_to_subscriber_ms": ping,
        "ratio_sos_p95_to_mqtt_p95": (
            round(sos_ms["p95"] / ping["p95"], 1) if sos_ms["p95"] and ping["p95"] else None
        ),
        "done_when": bool(
            exact and sos.undelivered == 0 and sos_ms["p95"] is not None and sos_ms["p95"] <= 1000
        ),
        "telemetry_sent": sent_msgs,
        "telemetry_seen_by_baseline": len(baseline.times) if baseline is not None else None,
        "telemetry_stored": msgs,
        "offered_msg_per_s": round(sent_msgs / max(summary["run_seconds"], 1e-9), 1),
        "baseline_msg_per_s": round(base, 1) if base is not None else None,
        "stored_msg_per_s": round(e2e, 1),
        "ratio_stored_to_baseline": round(e2e / base, 3) if base else None,
        "latency_send_to_received_ms": spread(lags),
        "drain_after_stop_s": round(drained, 2),
        "resends": summary["resends"],
        "undelivered": summary["undelivered"],
        **cost,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--report-interval", type=float, default=10.0)
    parser.add_argument("--fix-interval", type=float, default=2.0)
    parser.add_argument("--https-share", type=float, default=0.0)
    parser.add_argument("--drops-per-hour", type=float, default=0.0)
    parser.add_argument("--sos", type=int, default=100, help="SOS presses over the run")
    parser.add_argument("--pings", type=int, default=300, help="baseline MQTT publishes")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--broker", choices=("mosquitto", "embedded"), default="mosquitto")
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--ping-host", default="127.0.0.1", help="Mosquitto for the baseline")
    parser.add_argument("--ping-port", type=int, default=1883)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if shutil.which("mosquitto_sub") is None:
        raise SystemExit("mosquitto_sub not found (Debian: mosquitto-clients)")
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
            serve = psutil.Process(process.pid)
            fleet, cost, sos = asyncio.run(run_fleet(args, url, token, serve))
            stopped = time.time()
            summary = fleet.summary()
            ids = [r.credential.recorder_id for r in fleet.recorders]
            sent = {r.credential.recorder_id: r.tally.positions for r in fleet.recorders}
            sent_at = {k: v for r in fleet.recorders for k, v in (r.tally.sent_at or {}).items()}
            found = wait_stored(db_url, ids, sent)
            drained = time.time() - stopped
            if baseline is not None:
                baseline.stop()
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
    report = build_report(args, summary, cost, found, sent_at, baseline, sos, drained)
    report["load_average_before"] = [round(x, 2) for x in load_before]
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
