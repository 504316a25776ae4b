"""A real `citywitness serve` (embedded PostgreSQL and MQTT broker on free ports) that the
simulator drives over HTTP and MQTT, with a platform administrator's API token."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

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


def admin_token(url: str, username: str, password: str, scopes: Sequence[str] | None = None) -> str:
    """An API token of `username` (default scopes: the simulator's and devices:track)."""
    login = httpx.post(
        f"{url}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30
    )
    assert login.status_code == 200, login.text
    session = {
        "Cookie": f"cw_session={login.cookies['cw_session']}",
        "X-CSRF-Token": login.json()["csrf_token"],
    }
    issued = httpx.post(
        f"{url}/api/v1/auth/tokens",
        headers=session,
        json={
            "name": "simulator test",
            "scopes": list(scopes) if scopes is not None else [*SCOPES, "devices:track"],
            "expires_in_days": 1,
        },
        timeout=30,
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["secret"])


P = TypeVar("P", bound=LivePlatform)


def new_platform(root: Path, kind: type[P]) -> P:
    """A platform under `root` on free HTTP and MQTT ports (not started)."""
    logs = root / "logs"
    logs.mkdir()
    return kind(data_dir=root / "data", port=free_port(), logs=logs, mqtt_port=free_port())


@contextlib.contextmanager
def serving(
    platform: LivePlatform, username: str, scopes: Sequence[str] | None = None
) -> Iterator[Served]:
    """`serve` running with a platform administrator `username` and their API token."""
    running = platform.start("serve", 1)
    try:
        created = platform.cli(
            "users", "create", "--username", username, "--display-name", username,
            "--department", "public-security", "--role", "platform_admin", "--password-stdin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        yield Served(platform, running, admin_token(platform.url, username, PASSWORD, scopes))
    finally:
        _stop(platform, running)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("sim-platform")
    with serving(new_platform(root, LivePlatform), "sim-admin") as found:
        yield found


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
