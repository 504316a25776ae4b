"""A small fleet against a real `citywitness serve` with its embedded broker.

Five recorders (two over HTTPS, three over MQTT), one of them streaming live video, for
twenty seconds: every position the simulator says it delivered is stored, once; an SOS
press arrives as a device event; a network drop (connection cut, last will) delivers the
queued positions afterwards with their original times, exactly once; the live session's
segments are all stored, chained and sealed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from citywitness.simulator.fleet import Fleet, FleetOptions
from citywitness.simulator.mqtt_client import ConnectionRefused, MqttClient
from citywitness.simulator.recorder import Behaviour
from tests.simulator.conftest import Served, log_tail

pytestmark = pytest.mark.slow

STORE_TIMEOUT = 60.0


def stored_times(api: httpx.Client, recorder_id: str) -> list[str]:
    times: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"shape": "points", "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        answer = api.get(f"/api/v1/devices/{recorder_id}/positions", params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        times += [f["properties"]["at"] for f in body["features"]]
        cursor = body["next_cursor"]
        if not cursor:
            return times


def event_kinds(api: httpx.Client, recorder_id: str) -> Counter[str]:
    answer = api.get(f"/api/v1/devices/{recorder_id}/events", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    return Counter(e["kind"] for e in answer.json()["items"])


def wait_for_positions(api: httpx.Client, expected: dict[str, int]) -> dict[str, list[str]]:
    """The bridge stores MQTT messages after the broker acknowledged them: poll."""
    deadline = time.monotonic() + STORE_TIMEOUT
    while True:
        found = {rid: stored_times(api, rid) for rid in expected}
        if {rid: len(t) for rid, t in found.items()} == expected or time.monotonic() > deadline:
            return found
        time.sleep(1)


async def run_fleet(served: Served) -> tuple[Fleet, dict[str, Any]]:
    options = FleetOptions(
        devices=5,
        url=served.url,
        mqtt_url=served.platform.mqtt_url,
        video=1,
        seed=4242,
        https_share=0.4,  # recorders 3 and 5
        departments=["public-security"],
        behaviour=Behaviour(
            fix_interval_s=1.0, report_interval_s=3.0, sos_per_hour=0, drops_per_hour=0
        ),
        drain_timeout_s=60,
    )
    fleet = Fleet(options, served.token)
    await fleet.setup()
    fleet.start()
    await asyncio.sleep(4)
    fleet.recorders[0].press_sos()
    dropped = fleet.recorders[1]
    assert dropped.transport == "mqtt"
    drop = asyncio.create_task(dropped.drop(6))
    await asyncio.sleep(16)
    await drop
    await fleet.stop()
    return fleet, fleet.summary()


@pytest.fixture(scope="module")
def ran(served: Served) -> tuple[Fleet, dict[str, Any]]:
    return asyncio.run(run_fleet(served))


def test_small_fleet_is_stored_exactly(served: Served, ran: tuple[Fleet, dict[str, Any]]) -> None:
    fleet, summary = ran
    per = summary["per_recorder"]
    assert summary["recorders"] == 5
    assert summary["transports"] == {"mqtt": 3, "https": 2}
    assert summary["undelivered"] == 0
    assert summary["refused"] == 0
    assert summary["events"]["sos"] == 1
    assert summary["events"]["power_on"] == 5

    expected = {r["recorder_id"]: r["positions"] for r in per.values()}
    assert all(count > 0 for count in expected.values())
    with served.api() as api:
        found = wait_for_positions(api, expected)
        assert {rid: len(t) for rid, t in found.items()} == expected, log_tail(served)
        assert sum(len(t) for t in found.values()) == summary["positions"]
        for times in found.values():  # exactly once: no position stored twice
            assert len(set(times)) == len(times)

        sos_sender = fleet.recorders[0].credential.recorder_id
        assert event_kinds(api, sos_sender)["sos"] == 1

        dropped = fleet.recorders[1]
        assert dropped.tally.drops == 1
        assert dropped.tally.reconnects == 1
        assert dropped.tally.delivered_after_drop >= 3  # six seconds of fixes, one a second
        kinds = event_kinds(api, dropped.credential.recorder_id)
        assert kinds["offline"] == 1  # the last will
        assert kinds["online"] == 2  # first contact, then after the reconnection


def test_live_video_segments_are_stored_and_sealed(
    served: Served, ran: tuple[Fleet, dict[str, Any]]
) -> None:
    fleet, summary = ran
    (video,) = summary["video"]
    streamer = fleet.streamers[0]
    assert video["segments"] >= 8  # about ten in twenty seconds
    (recorded,) = video["sessions"]  # one session for the whole run
    assert recorded["segments"] == video["segments"]
    auth = {"Authorization": streamer.recorder.credential.http_authorization}
    answer = httpx.get(
        f"{served.url}/api/v1/devices/self/sessions/{recorded['session_id']}",
        headers=auth,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    session = answer.json()
    assert session["segments"] == video["segments"]
    assert session["contiguous_seq"] == video["segments"] - 1
    assert session["evidence_id"] == recorded["evidence_id"]
    assert session["state"] in ("ended", "sealed")
    truth = streamer.tally.truth
    assert [t["seq"] for t in truth] == list(range(video["segments"]))
    assert sorted({p["text"] for t in truth for p in t["plates"]}) == sorted(video["plates"])
    assert video["plates"], "a twenty-second street scene shows at least one plate"


def test_simulate_command_line(served: Served, tmp_path: Any) -> None:
    summary_file = tmp_path / "summary.json"
    command = [
        sys.executable, "-m", "citywitness", "simulate",
        "--devices", "2", "--duration", "6", "--seed", "77",
        "--url", served.url, "--mqtt", served.platform.mqtt_url,
        "--report-interval", "2", "--fix-interval", "1", "--drops-per-hour", "0",
        "--json", str(summary_file), "--token-stdin",
    ]  # fmt: skip
    done = subprocess.run(
        command,
        input=served.token + "\n",
        capture_output=True,
        text=True,
        timeout=180,
        env=served.platform.env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["recorders"] == 2
    assert printed["undelivered"] == 0
    full = json.loads(summary_file.read_text())
    assert sorted(full["per_recorder"]) == ["SIM77-00001", "SIM77-00002"]
    assert full["positions"] == printed["positions"] > 0


def test_the_broker_refuses_a_wrong_secret(
    served: Served, ran: tuple[Fleet, dict[str, Any]]
) -> None:
    cred = ran[0].recorders[0].credential
    client = MqttClient(
        "127.0.0.1",
        served.platform.mqtt_port,
        client_id=cred.serial,
        username=cred.serial,
        password="cwd_" + "0" * 43,
    )
    with pytest.raises(ConnectionRefused):
        asyncio.run(client.connect())


async def rotating_sessions(served: Served) -> Fleet:
    options = FleetOptions(
        devices=1,
        url=served.url,
        mqtt_url=served.platform.mqtt_url,
        video=1,
        seed=5151,
        behaviour=Behaviour(sos_per_hour=0, drops_per_hour=0),
        video_session_s=4,
        video_pause_s=1,
    )
    fleet = Fleet(options, served.token)
    await fleet.run(13)
    return fleet


def test_live_sessions_rotate_when_asked(served: Served) -> None:
    fleet = asyncio.run(rotating_sessions(served))
    streamer = fleet.streamers[0]
    sessions = streamer.tally.sessions
    assert len(sessions) >= 2
    assert all(s["segments"] == 2 for s in sessions[:-1])  # 4 s of 2 s segments each
    tally = streamer.recorder.tally
    assert tally.events["recording_started"] == tally.events["recording_stopped"] == len(sessions)
    auth = {"Authorization": streamer.recorder.credential.http_authorization}
    for recorded in sessions:
        answer = httpx.get(
            f"{served.url}/api/v1/devices/self/sessions/{recorded['session_id']}",
            headers=auth,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["segments"] == recorded["segments"]
        assert answer.json()["state"] in ("ended", "sealed")
