"""A real `citywitness serve` (embedded PostgreSQL and MQTT broker on free ports) that the
simulator drives over HTTP and MQTT, with a platform administrator's API token."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from citywitness.simulator.provision import SCOPES
from tests.test_serve_process import EXIT_TIMEOUT, Platform, Running, free_port, postgres_processes

PASSWORD = "simulated city, real platform"


@dataclass
class LivePlatform(Platform):
    mqtt_port: int = 0

    def env(self) -> dict[str, str]:
        env = super().env()
        env["CW_MQTT__LISTEN_PORT"] = str(self.mqtt_port)
        return env

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"


@dataclass
class Served:
    platform: LivePlatform
    running: Running
    token: str

    @property
    def url(self) -> str:
        return self.platform.url

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )


def admin_token(url: str, username: str, password: str) -> str:
    login = httpx.post(
        f"{url}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30
    )
    assert login.status_code == 200, login.text
    session = {
        "Cookie": f"cw_session={login.cookies['cw_session']}",
        "X-CSRF-Token": login.json()["csrf_token"],
    }
    scopes = [*SCOPES, "devices:track"]
    issued = httpx.post(
        f"{url}/api/v1/auth/tokens",
        headers=session,
        json={"name": "simulator test", "scopes": scopes, "expires_in_days": 1},
        timeout=30,
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["secret"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("sim-platform")
    logs = root / "logs"
    logs.mkdir()
    platform = LivePlatform(
        data_dir=root / "data", port=free_port(), logs=logs, mqtt_port=free_port()
    )
    running = platform.start("serve", 1)
    try:
        created = platform.cli(
            "users", "create", "--username", "sim-admin", "--display-name", "Simulator admin",
            "--department", "public-security", "--role", "platform_admin", "--password-stdin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        yield Served(platform, running, admin_token(platform.url, "sim-admin", PASSWORD))
    finally:
        _stop(platform, running)


def _stop(platform: LivePlatform, running: Running) -> None:
    process = running.process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pid in postgres_processes(platform.pgdata):
        psutil.Process(pid).kill()


def log_tail(served: Served) -> str:
    return Path(served.running.stderr).read_text(errors="replace")[-3000:]
