"""A real `citywitness serve` SIGKILLed mid-upload: after a restart nothing that was
acknowledged is lost, no item was half-committed, and the upload completes intact."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from citywitness.evidence.tus_protocol import TUS_VERSION, encode_metadata
from tests.evidence.ingest.conftest import OCTETS, pdf_bytes
from tests.test_serve_process import PASSWORD, Platform, free_port, postgres_processes

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
SIZE = 24 * MIB


class UploadPlatform(Platform):
    def env(self) -> dict[str, str]:
        return {**super().env(), "CW_EVIDENCE__UPLOAD_CHECKPOINT_BYTES": str(MIB)}


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[UploadPlatform]:
    logs = tmp_path / "logs"
    logs.mkdir()
    platform = UploadPlatform(data_dir=tmp_path / "data", port=free_port(), logs=logs)
    yield platform
    for process in platform.processes:
        if process.poll() is None:
            process.kill()
            process.wait()
    for pid in postgres_processes(platform.pgdata):
        os.kill(pid, signal.SIGKILL)


def _session(platform: Platform) -> dict[str, str]:
    response = httpx.post(
        f"{platform.url}/api/v1/auth/login",
        json={"username": "uploader", "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    session, csrf = response.cookies["cw_session"], response.cookies["cw_csrf"]
    return {
        "Cookie": f"cw_session={session}; cw_csrf={csrf}",
        "X-CSRF-Token": csrf,
        "Tus-Resumable": TUS_VERSION,
    }


def _offset(platform: Platform, url: str, auth: dict[str, str]) -> int:
    response = httpx.head(f"{platform.url}{url}", headers=auth, timeout=30)
    assert response.status_code == 200, response.headers
    return int(response.headers["Upload-Offset"])


def test_sigkill_mid_upload_loses_nothing_acknowledged(platform: UploadPlatform) -> None:
    data = pdf_bytes(SIZE)
    first = platform.start("serve", 1)
    created = platform.cli(
        "users", "create", "--username", "uploader", "--display-name", "Uploader",
        "--department", "public-security", "--role", "officer", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    auth = _session(platform)
    metadata = encode_metadata({"filename": "big.pdf", "filetype": "application/pdf"})
    creation = httpx.post(
        f"{platform.url}/api/v1/uploads",
        headers={**auth, "Upload-Length": str(SIZE), "Upload-Metadata": metadata},
        timeout=30,
    )
    assert creation.status_code == 201, creation.text
    url = creation.headers["Location"].removeprefix(platform.url)

    release = threading.Event()

    def body() -> Iterator[bytes]:
        for start in range(0, 10 * MIB, 256 * 1024):
            yield data[start : start + 256 * 1024]
        release.wait(60)  # the client stalls mid-body; the server dies meanwhile

    def send() -> None:
        headers = {**auth, "Upload-Offset": "0", "Content-Type": OCTETS}
        with contextlib.suppress(httpx.HTTPError):  # the server goes away
            httpx.patch(f"{platform.url}{url}", headers=headers, content=body(), timeout=90)

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 60
    acknowledged = 0
    while acknowledged < 8 * MIB and time.monotonic() < deadline:
        acknowledged = _offset(platform, url, auth)
        time.sleep(0.05)
    assert acknowledged >= 8 * MIB
    first.process.kill()  # SIGKILL: no shutdown of any kind
    first.process.wait(30)
    release.set()
    sender.join(30)

    second = platform.start("serve", 2)
    auth = _session(platform)
    resumed_at = _offset(platform, url, auth)
    assert acknowledged <= resumed_at <= 10 * MIB
    items = httpx.get(f"{platform.url}/api/v1/evidence", headers=auth, timeout=30)
    assert items.json()["items"] == []

    headers = {**auth, "Upload-Offset": str(resumed_at), "Content-Type": OCTETS}
    last = httpx.patch(
        f"{platform.url}{url}", headers=headers, content=data[resumed_at:], timeout=120
    )
    assert last.status_code == 204, last.text
    evidence_id = last.headers["CW-Evidence-Id"]
    item = httpx.get(f"{platform.url}/api/v1/evidence/{evidence_id}", headers=auth, timeout=30)
    assert item.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert item.json()["size_bytes"] == SIZE
    assert second.interrupt() == 0
