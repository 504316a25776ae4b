"""Issue 5's done-when, small: twenty recorders for twenty seconds against a real `serve`
(embedded broker): the positions each recorder had acknowledged are exactly the positions
stored for it, and every SOS press reaches a console WebSocket client (the bench,
bench/bench_fleet.py, measures the same at 1,000 recorders with latencies)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from citywitness.simulator.console import AlertConsole, ConsoleRefused, SosDelivery
from citywitness.simulator.fleet import Fleet, FleetOptions
from citywitness.simulator.provision import SCOPES
from citywitness.simulator.recorder import Behaviour
from tests.simulator.conftest import PASSWORD, Served, log_tail

pytestmark = pytest.mark.slow

DEVICES = 20
STORE_TIMEOUT = 90.0


def console_token(url: str, scopes: tuple[str, ...] = ("alerts:read",)) -> str:
    login = httpx.post(
        f"{url}/api/v1/auth/login", json={"username": "sim-admin", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    issued = httpx.post(
        f"{url}/api/v1/auth/tokens",
        headers={
            "Cookie": f"cw_session={login.cookies['cw_session']}",
            "X-CSRF-Token": login.json()["csrf_token"],
        },
        json={"name": "console", "scopes": list(scopes), "expires_in_days": 1},
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["secret"])


def stored_positions(api: httpx.Client, recorder_id: str) -> list[str]:
    times: list[str] = []
    params: dict[str, Any] = {"shape": "points", "limit": 1000}
    while True:
        answer = api.get(f"/api/v1/devices/{recorder_id}/positions", params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        times += [f["properties"]["at"] for f in body["features"]]
        if not body["next_cursor"]:
            return times
        params["cursor"] = body["next_cursor"]


async def run(served: Served) -> tuple[Fleet, SosDelivery]:
    fleet = Fleet(
        FleetOptions(
            devices=DEVICES,
            url=served.url,
            mqtt_url=served.platform.mqtt_url,
            seed=777,
            https_share=0.1,
            departments=["public-security"],
            behaviour=Behaviour(
                fix_interval_s=1.0, report_interval_s=2.0, sos_per_hour=0, drops_per_hour=0
            ),
            drain_timeout_s=60,
        ),
        served.token,
    )
    console = AlertConsole(served.url, console_token(served.url))
    await fleet.setup()
    await console.start()
    fleet.start()
    pressers = [*fleet.recorders[:10], fleet.recorders[0], fleet.recorders[1]]
    for recorder in pressers:  # ten alerts raised, two repeated
        await asyncio.sleep(1.5)
        recorder.press_sos()
    await asyncio.sleep(20 - 1.5 * len(pressers))
    await fleet.stop()
    delivered = await console.wait_for(fleet.sos_presses(), timeout_s=60)
    await console.close()
    return fleet, delivered


def test_sent_equals_stored_and_every_sos_reaches_the_console(served: Served) -> None:
    fleet, delivered = asyncio.run(run(served))
    summary = fleet.summary()
    assert summary["undelivered"] == 0
    assert summary["refused"] == 0
    assert summary["transports"] == {"mqtt": 18, "https": 2}
    assert summary["events"]["sos"] == 12
    assert (delivered.presses, delivered.undelivered, len(delivered.latencies)) == (12, 0, 12)

    sent = {r["recorder_id"]: r["positions"] for r in summary["per_recorder"].values()}
    assert all(count > 0 for count in sent.values())
    deadline = time.monotonic() + STORE_TIMEOUT
    with served.api() as api:
        while True:
            found = {rid: stored_positions(api, rid) for rid in sent}
            counts = {rid: len(times) for rid, times in found.items()}
            if counts == sent or time.monotonic() > deadline:
                break
            time.sleep(1)
    assert counts == sent, log_tail(served)
    assert all(len(set(times)) == len(times) for times in found.values())  # each stored once


def test_a_console_without_alerts_read_is_refused_clearly(served: Served) -> None:
    console = AlertConsole(served.url, served.token)  # the fleet's token: no alerts:read
    with pytest.raises(ConsoleRefused, match="console WebSocket"):
        asyncio.run(console.start())


def test_simulate_reports_sos_to_console(served: Served) -> None:
    command = [
        sys.executable, "-m", "citywitness", "simulate",
        "--devices", "2", "--duration", "6", "--seed", "78", "--https-share", "0",
        "--url", served.url, "--mqtt", served.platform.mqtt_url,
        "--report-interval", "2", "--fix-interval", "1", "--drops-per-hour", "0",
        "--sos-per-hour", "2400", "--console", "--token-stdin",
    ]  # fmt: skip
    token = console_token(served.url, (*SCOPES, "alerts:read"))
    done = subprocess.run(
        command,
        input=token + "\n",
        capture_output=True,
        text=True,
        timeout=180,
        env=served.platform.env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    sos = printed["sos_to_console"]
    assert sos["presses"] == printed["events"].get("sos", 0) > 0
    assert sos["undelivered"] == 0
