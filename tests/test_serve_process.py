"""`citywitness serve` and `citywitness demo` as real processes on an embedded PostgreSQL:
ready over HTTP, Ctrl-C (SIGINT) exits 0 and leaves no PostgreSQL process behind, and a
restart keeps the data.  Start-up times are printed (`pytest -s`), never asserted."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.slow

READY_TIMEOUT = 120.0  # generous: a loaded CI machine, a first initdb
EXIT_TIMEOUT = 60.0
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Platform:
    """One data directory and port; `start` runs a `citywitness` command on them."""

    data_dir: Path
    port: int
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # The embedded MQTT broker's port: never the default, so runs side by side never clash.
    broker_port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pgdata(self) -> Path:
        return (self.data_dir / "postgres").resolve()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CW_")}
        env.update(
            CW_DATA_DIR=str(self.data_dir),
            CW_SERVER__PORT=str(self.port),
            CW_SERVER__PUBLIC_URL=self.url,
            CW_JOBS__SHUTDOWN_TIMEOUT_SECONDS="5",
            CW_MQTT__LISTEN_PORT=str(self.broker_port),
        )
        return env

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "citywitness", *args],
            input=stdin,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self, command: str, run: int) -> Running:
        out = (self.logs / f"{command}-{run}.out").open("w")
        err = (self.logs / f"{command}-{run}.err").open("w")
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "citywitness", command],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=self.env(),
            start_new_session=True,
        )
        self.processes.append(process)
        running = Running(self, process, Path(out.name), Path(err.name))
        running.wait_ready(started, f"{command} #{run}")
        return running


@dataclass
class Running:
    platform: Platform
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace")

    def wait_ready(self, started: float, label: str) -> None:
        deadline = started + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{label} exited with {self.process.returncode}:\n{self.errors()}")
            try:
                if httpx.get(f"{self.platform.url}/readyz", timeout=2).status_code == 200:
                    took = time.monotonic() - started
                    print(f"\n{label}: ready in {took:.2f} s")  # noqa: T201 - reported, not asserted
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.process.kill()
        pytest.fail(f"{label} not ready within {READY_TIMEOUT} s:\n{self.errors()}")

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace")[-4000:]

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT, then the exit status."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"no exit within {EXIT_TIMEOUT} s of SIGINT:\n{self.errors()}")


def postgres_processes(pgdata: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if any(str(pgdata) in part for part in cmdline):
            found.append(proc.info["pid"])
    return found


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    logs = tmp_path / "logs"
    logs.mkdir()
    platform = Platform(data_dir=tmp_path / "data", port=free_port(), logs=logs)
    yield platform
    for process in platform.processes:  # a failed test must not leave servers behind
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    for pid in postgres_processes(platform.pgdata):
        psutil.Process(pid).kill()


def login(platform: Platform, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{platform.url}/api/v1/auth/login",
        json={"username": username, "password": password},
        timeout=30,
    )


def test_serve_stops_cleanly_and_keeps_its_data(platform: Platform) -> None:
    first = platform.start("serve", 1)
    created = platform.cli(
        "users",
        "create",
        "--username",
        "serve-check",
        "--display-name",
        "Serve Check",
        "--department",
        "public-security",
        "--role",
        "investigator",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    assert login(platform, "serve-check", PASSWORD).status_code == 200
    assert postgres_processes(platform.pgdata) != []

    assert first.interrupt() == 0
    assert postgres_processes(platform.pgdata) == []

    second = platform.start("serve", 2)
    response = login(platform, "serve-check", PASSWORD)
    assert response.status_code == 200
    assert response.json()["user"]["username"] == "serve-check"
    assert second.interrupt() == 0
    assert postgres_processes(platform.pgdata) == []


def test_demo_shows_the_one_time_password_once(platform: Platform) -> None:
    first = platform.start("demo", 1)
    match = re.search(r"one-time password (\S+)", first.output())
    assert match is not None, first.output()
    assert f"CityWitness is starting at {platform.url}" in first.output()
    password = match.group(1)
    response = login(platform, "admin", password)
    assert response.status_code == 200
    assert [m["role"] for m in response.json()["user"]["memberships"]] == ["platform_admin"]
    # The session cookie is Secure: browsers send it to http://127.0.0.1, httpx does not.
    session = {"Cookie": f"cw_session={response.cookies['cw_session']}"}
    officers = httpx.get(f"{platform.url}/api/v1/officers", headers=session, timeout=30)
    assert officers.status_code == 200
    assert {"PS-1001", "PS-1002", "PS-1003"} <= set(re.findall(r"PS-\d{4}", officers.text))
    assert first.interrupt() == 0
    assert postgres_processes(platform.pgdata) == []

    second = platform.start("demo", 2)
    shown = second.output()
    assert "one-time password" not in shown
    assert "were shown on the first start" in shown
    assert "citywitness users reset-password admin" in shown
    assert login(platform, "admin", password).status_code == 200
    assert second.interrupt() == 0
    assert postgres_processes(platform.pgdata) == []
