"""Ingest throughput against baselines measured in the same run.

1. tus: a generated file (1 GiB by default, `--size-mib`) is PATCHed in one request to
   `citywitness serve` (one uvicorn worker, its own process, in-process job worker off),
   then completes into an evidence item.  The baseline is `sha256sum` of the same file
   (in the page cache after it is written), timed again just before every upload.
   Printed: both throughputs and the ratio (the issue's goal: at least 0.5) for each of
   `--trials` rounds, then the medians.  Each round uploads once without and once with
   `Upload-Checksum` (the body is then sent as PATCHes of `--patch-mib`, each with its
   sha256, which the client computes before sending it, as a recorder would).
2. dock: `citywitness ingest` of 1,000 small files (`--files`) in one folder, as a
   subprocess: files per second, start-up included (the time of the same command on an
   empty folder is printed too).

The files are PDFs (magic bytes, then random data): documents are recognised by their
magic bytes, so neither number includes media probing.  Database: an embedded PostgreSQL
in a temporary directory, or CW_BENCH_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from citywitness.access.levels import Classification, Role
from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.agencies.service import ensure_officer
from citywitness.evidence.tus_protocol import TUS_VERSION, encode_metadata
from citywitness.identity import service as identity
from citywitness.identity.principals import load_principal
from citywitness.identity.tokens import issue_token
from citywitness.kit import migrate
from citywitness.kit.db import Database

MIB = 1024 * 1024
HOME = "00000000-0000-4000-8000-000000000001"  # public-security
BADGE = "BENCH-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def database(tmp: Path) -> Iterator[str]:
    external = os.environ.get("CW_BENCH_DATABASE_URL")
    if external:
        migrate.upgrade(external)
        yield external
        return
    embedded = EmbeddedPostgres(tmp / "pg", database="citywitness")
    url = embedded.start()
    try:
        migrate.upgrade(url)
        yield url
    finally:
        embedded.stop()


async def seed(url: str) -> str:
    """An uploader in public-security with an API token, and the officer the dock names."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            user = await identity.create_user(
                session,
                username=f"bench-{os.getpid()}-{time.monotonic_ns()}",
                display_name="Benchmark",
                password=None,
                clearance=Classification.SECRET,
            )
            await identity.add_membership(
                session, user_id=user.id, department_id=uuid.UUID(HOME), role=Role.OFFICER
            )
            principal = await load_principal(session, user)
            issued = await issue_token(
                session, principal, name="bench", scopes=["evidence:upload"], expires_in_days=1
            )
            await ensure_officer(
                session, badge_number=BADGE, display_name="Bench", department_id=uuid.UUID(HOME)
            )
        return issued.secret
    finally:
        await db.dispose()


def env(url: str, data_dir: Path, port: int) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CW_")}
    return {
        **base,
        "CW_DATABASE__URL": url,
        "CW_DATA_DIR": str(data_dir),
        "CW_SERVER__PORT": str(port),
        "CW_JOBS__IN_PROCESS_WORKER": "false",
        "CW_LOGGING__LEVEL": "WARNING",
        "CW_STORAGE__MIN_FREE_BYTES": "0",
    }


@contextlib.contextmanager
def server(environment: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "citywitness", "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(16 * MIB)
    with path.open("wb") as handle:
        handle.write(b"%PDF-1.4\n")
        written = 9
        while written < size:
            piece = block[: min(len(block), size - written)]
            handle.write(piece)
            written += len(piece)


def sha256sum_seconds(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, out.stdout.split()[0]


def chunks(path: Path, start: int, end: int, piece: int = MIB) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            data = handle.read(min(piece, left))
            if not data:
                return
            left -= len(data)
            yield data


def tus_upload(base: str, token: str, path: Path, patch_bytes: int | None) -> tuple[float, str]:
    """Seconds from creation to the completed item; the item id."""
    size = path.stat().st_size
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": TUS_VERSION}
    meta = encode_metadata({"filename": path.name, "filetype": "application/pdf"})
    with httpx.Client(timeout=600) as client:
        started = time.perf_counter()
        created = client.post(
            f"{base}/api/v1/uploads",
            headers={**auth, "Upload-Length": str(size), "Upload-Metadata": meta},
        )
        created.raise_for_status()
        url = created.headers["Location"]
        offset, step = 0, patch_bytes or size
        response = None
        while offset < size:
            end = min(size, offset + step)
            headers = {
                **auth,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(end - offset),
            }
            if patch_bytes is not None:
                digest = hashlib.sha256(b"".join(chunks(path, offset, end))).digest()
                headers["Upload-Checksum"] = "sha256 " + base64.b64encode(digest).decode()
            response = client.patch(url, headers=headers, content=chunks(path, offset, end))
            if response.status_code != 204:
                raise SystemExit(f"PATCH failed: {response.status_code} {response.text}")
            offset = int(response.headers["Upload-Offset"])
        elapsed = time.perf_counter() - started
    assert response is not None
    return elapsed, response.headers["CW-Evidence-Id"]


MODES = ("tus, one PATCH, no checksum", "tus, {patch} MiB PATCHes + Upload-Checksum")


def bench_tus(base: str, token: str, tmp: Path, size: int, *, patch_mib: int, trials: int) -> None:
    """Each trial times `sha256sum` just before each upload, so a load that changes during
    the run (a shared machine) moves baseline and upload together; medians at the end."""
    path = tmp / "upload.pdf"
    make_file(path, size)
    mib = size / MIB
    results: dict[str, list[tuple[float, float]]] = {}
    for trial in range(1, trials + 1):
        for template, patch_bytes in zip(MODES, (None, patch_mib * MIB), strict=True):
            label = template.format(patch=patch_mib)
            with path.open("r+b") as handle:  # new content each time: never a duplicate
                handle.seek(9)
                handle.write(os.urandom(64))
            baseline, _ = sha256sum_seconds(path)
            seconds, item = tus_upload(base, token, path, patch_bytes)
            results.setdefault(label, []).append((mib / seconds, baseline / seconds))
            print(
                f"trial {trial}: sha256sum {mib / baseline:7.1f} MiB/s; {label:42s}"
                f" {mib / seconds:7.1f} MiB/s  ratio {baseline / seconds:.2f}  (item {item})"
            )
    print(f"medians over {trials} trial(s) of {mib:.0f} MiB:")
    for label, rows in results.items():
        speed = statistics.median(r[0] for r in rows)
        ratio = statistics.median(r[1] for r in rows)
        print(f"  {label:45s} {speed:8.1f} MiB/s  ratio to sha256sum {ratio:.2f}")


def bench_dock(environment: dict[str, str], tmp: Path, files: int) -> None:
    folder, empty = tmp / "dock", tmp / "empty"
    folder.mkdir()
    empty.mkdir()
    for index in range(files):
        (folder / f"clip-{index:05d}.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(16 * 1024))
    command = [sys.executable, "-m", "citywitness", "ingest"]
    options = ["--officer", BADGE, "--device", "REC-BENCH", "--category", "administrative-evidence"]
    started = time.perf_counter()
    subprocess.run(
        [*command, str(empty), *options], env=environment, capture_output=True, check=True
    )
    startup = time.perf_counter() - started
    started = time.perf_counter()
    done = subprocess.run(
        [*command, str(folder), *options],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    print(f"citywitness ingest of {files} files of 16 KiB: {files / elapsed:8.1f} files/s")
    print(f"  ({elapsed:.1f} s in all; the same command on an empty folder: {startup:.1f} s)")
    print(f"  without start-up: {files / max(elapsed - startup, 1e-9):8.1f} files/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--patch-mib", type=int, default=64)
    parser.add_argument("--trials", type=int, default=3, help="tus uploads of each kind.")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None, help="Work directory (a temp dir).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-ingest-", dir=args.dir) as raw:
        tmp = Path(raw)
        with database(tmp) as url:
            token = asyncio.run(seed(url))
            port = free_port()
            environment = env(url, tmp / "data", port)
            with server(environment, port) as base:
                bench_tus(
                    base,
                    token,
                    tmp,
                    args.size_mib * MIB,
                    patch_mib=args.patch_mib,
                    trials=args.trials,
                )
            bench_dock(environment, tmp, args.files)


if __name__ == "__main__":
    main()
