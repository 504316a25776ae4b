"""A real `citywitness serve` SIGKILLed while it completes an upload (the last byte is
durable, the object is being stored and registered): after a restart the client's retry
completes the upload exactly once, and `citywitness storage check` finds nothing wrong.

The server is stopped at the dangerous point deterministically, without any hook in the
code: the test holds a PostgreSQL lock that the completion needs, waits until the
server's connection is blocked on it, then kills the server.

- `key`: `LOCK TABLE storage_keys` - the blob is already in the backend (renamed out of
  staging), its key record not committed: a crash leaves an orphan blob.
- `registration`: the upload row locked - object and key record committed, the evidence
  item not: a crash leaves a stored object that nothing references.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from citywitness.evidence.tus_protocol import encode_metadata
from tests.evidence.ingest.conftest import OCTETS, pdf_bytes
from tests.evidence.ingest.test_tus_kill import UploadPlatform, _session
from tests.test_serve_process import PASSWORD, free_port

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
SIZE = 3 * MIB + 12_345
FIRST = 2 * MIB
LOCKS = {
    "key": "LOCK TABLE storage_keys IN EXCLUSIVE MODE",
    "registration": "SELECT 1 FROM evidence_uploads WHERE id = %s FOR UPDATE",
}


class DatabasePlatform(UploadPlatform):
    """`serve` on the test's own database (so the test can take locks in it)."""

    database_url: str = ""

    def env(self) -> dict[str, str]:
        return {**super().env(), "CW_DATABASE__URL": self.database_url}


@pytest.fixture
def platform(tmp_path: Path, fresh_database_url: str) -> Iterator[DatabasePlatform]:
    logs = tmp_path / "logs"
    logs.mkdir()
    platform = DatabasePlatform(data_dir=tmp_path / "data", port=free_port(), logs=logs)
    platform.database_url = fresh_database_url
    yield platform
    for process in platform.processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _blocked(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Is another connection to this database waiting for the lock `conn` holds?"""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
    ).fetchone()
    return row is not None and int(str(row[0])) > 0


def _start_final_patch(
    platform: DatabasePlatform, url: str, auth: dict[str, str], data: bytes
) -> threading.Thread:
    """The last PATCH, in a thread: its answer never comes (the server dies meanwhile)."""

    def send() -> None:
        with contextlib.suppress(httpx.HTTPError):
            _patch(platform, url, auth, FIRST, data[FIRST:])

    sender = threading.Thread(target=send)
    sender.start()
    return sender


def _create(platform: DatabasePlatform, auth: dict[str, str]) -> str:
    metadata = encode_metadata({"filename": "scene.pdf", "filetype": "application/pdf"})
    creation = httpx.post(
        f"{platform.url}/api/v1/uploads",
        headers={**auth, "Upload-Length": str(SIZE), "Upload-Metadata": metadata},
        timeout=30,
    )
    assert creation.status_code == 201, creation.text
    return str(creation.headers["Location"].removeprefix(platform.url))


def _patch(
    platform: DatabasePlatform, url: str, auth: dict[str, str], offset: int, body: bytes
) -> httpx.Response:
    headers = {**auth, "Upload-Offset": str(offset), "Content-Type": OCTETS}
    return httpx.patch(f"{platform.url}{url}", headers=headers, content=body, timeout=60)


def _facts(url: str, sha256: str, upload_id: str) -> tuple[int, int, str, str | None]:
    """Items with the content, key records of it, the upload's state and item."""
    with psycopg.connect(url) as conn:
        items = conn.execute(
            "SELECT count(*) FROM evidence_items WHERE sha256 = %s", (sha256,)
        ).fetchone()
        keys = conn.execute(
            "SELECT count(*) FROM storage_keys WHERE sha256 = %s AND destroyed_at IS NULL",
            (sha256,),
        ).fetchone()
        upload = conn.execute(
            "SELECT state, evidence_id::text FROM evidence_uploads WHERE id = %s", (upload_id,)
        ).fetchone()
    assert items is not None and keys is not None and upload is not None
    evidence_id = None if upload[1] is None else str(upload[1])
    return int(str(items[0])), int(str(keys[0])), str(upload[0]), evidence_id


@pytest.mark.parametrize(("where", "retry"), [("key", "head"), ("registration", "patch")])
def test_sigkill_during_completion_converges(
    platform: DatabasePlatform, where: str, retry: str
) -> None:
    data = pdf_bytes(SIZE)
    sha256 = hashlib.sha256(data).hexdigest()
    first = platform.start("serve", 1)
    created = platform.cli(
        "users", "create", "--username", "uploader", "--display-name", "Uploader",
        "--department", "public-security", "--role", "officer", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    auth = _session(platform)
    url = _create(platform, auth)
    upload_id = url.rsplit("/", 1)[1]
    assert _patch(platform, url, auth, 0, data[:FIRST]).status_code == 204

    with psycopg.connect(platform.database_url) as lock_conn:
        lock_conn.execute(LOCKS[where], (uuid.UUID(upload_id),) if "%s" in LOCKS[where] else ())
        final = _start_final_patch(platform, url, auth, data)
        deadline = time.monotonic() + 60
        while not _blocked(lock_conn) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _blocked(lock_conn), "the completion never reached the lock"
        first.process.kill()  # SIGKILL at the dangerous point
        first.process.wait(30)
        final.join(30)
        # the database notices the dead client: its waiting transaction is aborted
        lock_conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        lock_conn.rollback()
    assert _facts(platform.database_url, sha256, upload_id)[0] == 0  # nothing registered

    second = platform.start("serve", 2)
    auth = _session(platform)
    if retry == "patch":  # the client never got its answer: it sends the final PATCH again
        again = _patch(platform, url, auth, FIRST, data[FIRST:])
        assert again.status_code == 409, again.text
        assert again.headers["Upload-Offset"] == str(SIZE)
        evidence_id = again.headers["CW-Evidence-Id"]
    head = httpx.head(f"{platform.url}{url}", headers=auth, timeout=30)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == str(SIZE)
    if retry == "head":
        evidence_id = head.headers["CW-Evidence-Id"]
        again = _patch(platform, url, auth, FIRST, data[FIRST:])
        assert again.status_code == 409
        assert again.headers["CW-Evidence-Id"] == evidence_id
    assert head.headers["CW-Evidence-Id"] == evidence_id

    item = httpx.get(f"{platform.url}/api/v1/evidence/{evidence_id}", headers=auth, timeout=30)
    assert (item.json()["sha256"], item.json()["size_bytes"]) == (sha256, SIZE)
    listed = httpx.get(f"{platform.url}/api/v1/evidence", headers=auth, timeout=30)
    assert [i["id"] for i in listed.json()["items"]] == [evidence_id]
    assert _facts(platform.database_url, sha256, upload_id) == (1, 1, "completed", evidence_id)
    assert not (platform.data_dir / "staging" / uuid.UUID(upload_id).hex).exists()
    blobs = list((platform.data_dir / "objects").rglob(f"{sha256}.*"))
    assert len(blobs) == 1
    checked = platform.cli("storage", "check", "--grace-hours", "0")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no problems" in checked.stdout
    assert second.interrupt() == 0
