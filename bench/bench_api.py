"""API throughput against a baseline measured in the same run (`make bench`).

Four servers run one after the other under the same uvicorn settings, each in its own
process, and the same load generator (keep-alive connections, CONCURRENCY requests in flight)
drives each for DURATION seconds (CW_BENCH_DURATION, CW_BENCH_CONCURRENCY):

- baseline: a bare Starlette app answering GET /healthz with the same JSON;
- reference: a bare FastAPI app doing the same (the framework's own share of the cost);
- CityWitness GET /healthz: the full middleware stack (request id, JSON access log line,
  metrics, body limit);
- CityWitness GET /api/v1/auth/me with a bearer token: plus a database session, the token
  lookup, the principal and the response model.

The ratios to the baseline are what to compare between commits; the absolute numbers
depend on the machine (the client shares its CPUs with the server).  Database: an
embedded PostgreSQL in a temporary directory, or CW_BENCH_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from citywitness.access.levels import Classification, Role
from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.agencies.service import DEMO_DEPARTMENT
from citywitness.app import create_app
from citywitness.identity import service as identity
from citywitness.identity.principals import load_principal
from citywitness.identity.tokens import issue_token
from citywitness.kit import migrate
from citywitness.kit.db import Database
from citywitness.kit.logs import configure_logging
from citywitness.settings import Settings

DURATION = float(os.environ.get("CW_BENCH_DURATION", "4"))
WARMUP = 0.5
CONCURRENCY = int(os.environ.get("CW_BENCH_CONCURRENCY", "8"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the servers (run in a child process: `bench_api.py --serve KIND`) -------------------


def serve(kind: str, port: int, url: str) -> None:
    if kind == "baseline":

        async def healthz(_request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok"})

        app: object = Starlette(routes=[Route("/healthz", healthz)])
    elif kind == "fastapi":
        bare = FastAPI()

        @bare.get("/healthz")
        async def fastapi_healthz() -> dict[str, str]:
            return {"status": "ok"}

        app = bare
    else:
        configure_logging("INFO", json_output=True)  # as in production; stderr is discarded
        settings = Settings(
            database={"url": url},  # type: ignore[arg-type]
            jobs={"in_process_worker": False},  # type: ignore[arg-type]
        )
        app = create_app(settings, Database(url, pool_size=10, max_overflow=0))
    uvicorn.run(
        app,  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
    )


@contextlib.contextmanager
def server(kind: str, url: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port), "--url", url],
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
        else:
            raise SystemExit(f"{kind} server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(30)


# --- the load generator -----------------------------------------------------------------


async def _connection(
    host: str, port: int, request: bytes, until: float, latencies: list[float] | None
) -> None:
    """One keep-alive HTTP/1.1 connection sending `request` back to back until `until`."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (started := time.perf_counter()) < until:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1]
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            if status != b"200":
                raise SystemExit(f"{request.splitlines()[0]!r}: {status!r} {body!r}")
            if latencies is not None:
                latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _load(base: str, path: str, headers: dict[str, str]) -> tuple[float, float]:
    """Requests per second and the 99th-percentile latency (ms) over DURATION.

    A minimal keep-alive HTTP/1.1 client (a general-purpose client such as httpx costs more
    CPU per request than the servers measured here, on the same cores).
    """
    host, port = base.removeprefix("http://").split(":")
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    warm = time.perf_counter() + WARMUP
    await asyncio.gather(
        *(_connection(host, int(port), request, warm, None) for _ in range(CONCURRENCY))
    )
    latencies: list[float] = []
    started = time.perf_counter()
    until = started + DURATION
    await asyncio.gather(
        *(_connection(host, int(port), request, until, latencies) for _ in range(CONCURRENCY))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    return len(latencies) / elapsed, p99


def measure(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[float, float]:
    return asyncio.run(_load(base, path, headers or {}))


# --- data: a user with a token ------------------------------------------------------------


async def _make_token(url: str) -> str:
    db = Database(url)
    try:
        async with db.transaction() as session:
            user = await identity.create_user(
                session,
                username=f"bench-{os.getpid()}-{time.monotonic_ns()}",
                display_name="Benchmark",
                password=None,
                clearance=Classification.INTERNAL,
            )
            await identity.add_membership(
                session,
                user_id=user.id,
                department_id=DEMO_DEPARTMENT,
                role=Role.OPERATOR,
            )
            principal = await load_principal(session, user)
            issued = await issue_token(
                session, principal, name="bench", scopes=["departments:read"], expires_in_days=1
            )
        return issued.secret
    finally:
        await db.dispose()


@contextlib.contextmanager
def database() -> Iterator[str]:
    external = os.environ.get("CW_BENCH_DATABASE_URL")
    if external:
        migrate.upgrade(external)
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        embedded = EmbeddedPostgres(Path(tmp), database="citywitness")
        url = embedded.start()
        try:
            migrate.upgrade(url)
            yield url
        finally:
            embedded.stop()


def main() -> None:
    print(f"CityWitness API benchmark: {CONCURRENCY} in flight, {DURATION:.0f} s per run")
    with database() as url:
        token = asyncio.run(_make_token(url))
        with server("baseline", url) as base:
            baseline, baseline_p99 = measure(base, "/healthz")
        with server("fastapi", url) as base:
            fastapi, fastapi_p99 = measure(base, "/healthz")
        with server("app", url) as base:
            healthz, healthz_p99 = measure(base, "/healthz")
            me, me_p99 = measure(base, "/api/v1/auth/me", {"Authorization": f"Bearer {token}"})
    rows = [
        ("baseline: bare Starlette GET /healthz", baseline, baseline_p99),
        ("reference: bare FastAPI GET /healthz", fastapi, fastapi_p99),
        ("CityWitness GET /healthz", healthz, healthz_p99),
        ("CityWitness GET /api/v1/auth/me (token)", me, me_p99),
    ]
    print(f"{'':44} {'req/s':>9} {'p99 ms':>8} {'vs baseline':>12}")
    for name, rps, p99 in rows:
        print(f"{name:44} {rps:9.0f} {p99:8.1f} {rps / baseline:11.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", choices=["baseline", "fastapi", "app"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.url)
    else:
        main()
