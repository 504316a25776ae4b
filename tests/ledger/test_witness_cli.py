"""`citywitness witness` as a real process against a real `citywitness serve`: keygen,
registration with `citywitness ledger witness add`, a cosigning round, and a fork that
makes the witness exit 3 and /readyz fail."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from citywitness.ledger.note import (
    Checkpoint,
    NoteSigner,
    SignedNote,
    load_private_key,
)
from citywitness.ledger.witness_client import WitnessState
from tests.test_serve_process import PASSWORD, Platform, free_port, login

pytestmark = pytest.mark.slow

NAME = "court.example/witness"


class ExternalDbPlatform(Platform):
    """`serve` on a database of the test's own (no embedded server to start)."""

    database_url: str = ""

    def env(self) -> dict[str, str]:
        return {**super().env(), "CW_DATABASE__URL": self.database_url}


@pytest.fixture
def served(tmp_path: Path, fresh_database_url: str) -> Iterator[ExternalDbPlatform]:
    logs = tmp_path / "logs"
    logs.mkdir()
    platform = ExternalDbPlatform(data_dir=tmp_path / "data", port=free_port(), logs=logs)
    platform.database_url = fresh_database_url
    running = platform.start("serve", 1)
    try:
        yield platform
    finally:
        if running.process.poll() is None:
            running.interrupt()


def _token(platform: Platform) -> str:
    created = platform.cli(
        *("users", "create", "--username", "ledger-auditor", "--display-name", "Auditor"),
        *("--department", "public-security", "--role", "auditor", "--password-stdin"),
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    session = login(platform, "ledger-auditor", PASSWORD)
    csrf = session.cookies["cw_csrf"]
    headers = {
        "Cookie": f"cw_session={session.cookies['cw_session']}; cw_csrf={csrf}",
        "X-CSRF-Token": csrf,
    }
    issued = httpx.post(
        f"{platform.url}/api/v1/auth/tokens",
        json={"name": "witness", "scopes": ["ledger:read"], "expires_in_days": 30},
        headers=headers,
        timeout=30,
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["secret"])


def _witness(platform: Platform, key: Path, token: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "citywitness", "witness", "--log", platform.url]
    return subprocess.run(
        [*command, "--key", str(key), "--name", NAME, "--once", "--token", token],
        env=platform.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _until_cosigned(platform: Platform, key: Path, token: str) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + 30
    while True:  # the first checkpoint is signed by the sequencer soon after start
        done = _witness(platform, key, token)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done
        time.sleep(0.5)


def test_a_witness_process_cosigns_then_catches_a_fork(
    served: ExternalDbPlatform, tmp_path: Path
) -> None:
    key = tmp_path / "witness" / "key.pem"
    made = served.cli("witness", "keygen", "--name", NAME, "--key", str(key))
    assert made.returncode == 0, made.stderr
    vkey = made.stdout.strip()
    assert vkey.startswith(f"{NAME}+")
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    added = served.cli("ledger", "witness", "add", NAME, vkey)
    assert added.returncode == 0, added.stderr
    token = _token(served)

    done = _until_cosigned(served, key, token)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cosigned size" in done.stdout
    headers = {"Authorization": f"Bearer {token}"}
    cosigned = httpx.get(f"{served.url}/api/v1/ledger/checkpoint/cosigned", headers=headers)
    assert cosigned.status_code == 200, cosigned.text
    assert [s.name for s in SignedNote.decode(cosigned.content).signatures][1:] == [NAME]

    # The witness had once been shown another tree of the same size (a split view).
    state_file = key.with_name(key.name + ".state.json")
    state = WitnessState.load(state_file)
    assert state is not None
    signer = NoteSigner(state.origin, load_private_key(served.data_dir / "keys/ledger-log.pem"))
    body = Checkpoint(state.origin, state.size, hashlib.sha256(b"split").digest()).body()
    forged = SignedNote(body, (signer.sign(body),)).encode().decode()
    root = base64.b64encode(hashlib.sha256(b"split").digest()).decode()
    WitnessState(state.name, state.log_vkey, state.origin, state.size, root, forged).save(
        state_file
    )
    forked = _witness(served, key, token)
    assert forked.returncode == 3, forked.stdout + forked.stderr
    assert "CRITICAL" in forked.stderr
    assert "LOG FORK DETECTED" in forked.stderr
    assert "reported to the platform" in forked.stderr
    ready = httpx.get(f"{served.url}/readyz", timeout=30)
    assert ready.status_code == 503
    assert ready.json()["checks"]["ledger_forks"].startswith("fork detected: two signed")
    assert ready.json()["checks"]["ledger_timestamps"] == "ok: off (no TSA configured)"
