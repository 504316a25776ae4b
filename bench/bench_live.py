"""Live segments: ingested per second and segment-to-playable latency, against a baseline.

Workload: a generated video (PyAV, 320x240, 25 fps, keyframe every 2 s) remuxed into
`--segments` fMP4 segments of 2 s.  `--sessions` recorders each open a session and send
every segment in order, concurrently, through the API (in process, httpx ASGI transport:
no network, no uvicorn) on an embedded PostgreSQL.  Measured in the same run:

- live ingest: PUT .../segments/{seq} (digest check, PyAV probe, vault write, chain,
  ledger entry, item growth, all committed), segments per second over all sessions;
- segment-to-playable: from a PUT's answer to the segment being listed in the live
  playlist (one viewer polling `live.m3u8` with its view token), p50 and p95;
- baseline: the same bytes written straight into the content store (hash + encrypt +
  store + key record, what the vault costs), same concurrency, segments per second.

Printed: both rates and their ratio.  `uptime` is printed too: on a shared machine the
ratio is what counts.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from citywitness.access.levels import Role
from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.app import create_app
from citywitness.devices.credentials import issue_credential
from citywitness.devices.models import Recorder, RecorderState
from citywitness.evidence.runtime import store_for
from citywitness.identity.models import Membership, User
from citywitness.identity.passwords import hash_password
from citywitness.identity.principals import load_principal
from citywitness.identity.tokens import issue_token
from citywitness.kit import migrate
from citywitness.kit.db import Database
from citywitness.media.models import SegmentFormat
from citywitness.media.segmenter import segments
from citywitness.media.synthetic import write_video
from citywitness.settings import Settings

HOME = uuid.UUID("00000000-0000-4000-8000-000000000001")  # public-security
SESSIONS = "/api/v1/devices/self/sessions"


@contextlib.contextmanager
def database(tmp: Path) -> Iterator[str]:
    server = EmbeddedPostgres(tmp / "pg", database="citywitness")
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def make_segments(tmp: Path, count: int) -> tuple[bytes, list[bytes]]:
    source = write_video(
        tmp / "source.mp4",
        seconds=2.0 * count,
        fps=25,
        width=320,
        height=240,
        keyframe_seconds=2.0,
    )
    init, found = b"", []
    for piece in segments(str(source), SegmentFormat.FMP4, scratch=tmp):
        if piece.seq is None:
            init = piece.data
        else:
            found.append(piece.data)
    return init, found[:count]


async def enroll(db: Database, index: int) -> dict[str, str]:
    async with db.transaction() as session:
        recorder = Recorder(
            id=uuid.uuid4(),
            serial=f"BENCH-{index:04d}-{uuid.uuid4().hex[:6]}",
            department_id=HOME,
            state=RecorderState.ACTIVE.value,
        )
        session.add(recorder)
        await session.flush()
        issued = await issue_credential(session, recorder.id)
    return {"Authorization": f"Device {recorder.serial}:{issued.secret}"}


async def viewer(db: Database) -> dict[str, str]:
    async with db.transaction() as session:
        user = User(
            id=uuid.uuid4(),
            username=f"bench-{uuid.uuid4().hex[:6]}",
            display_name="Bench",
            password_hash=hash_password("bench password 1234"),
            clearance=3,
        )
        session.add(user)
        await session.flush()
        session.add(Membership(user_id=user.id, department_id=HOME, role=Role.OPERATOR.value))
        await session.flush()
        principal = await load_principal(session, user)
        token = await issue_token(
            session, principal, name="bench", scopes=["media:live"], expires_in_days=1
        )
    return {"Authorization": f"Bearer {token.secret}"}


async def run_session(  # noqa: PLR0917 - one session's workload
    client: httpx.AsyncClient,
    headers: dict[str, str],
    init: bytes,
    pieces: list[bytes],
    watch: dict[str, str] | None,
    latencies: list[float],
) -> None:
    opened = (
        await client.post(
            SESSIONS,
            json={"format": "fmp4", "init_segment": base64.b64encode(init).decode()},
            headers=headers,
        )
    ).json()
    playlist = f"/api/v1/media/sessions/{opened['id']}/live.m3u8"
    token = None
    if watch is not None:
        first = await client.get(playlist, headers=watch)
        token = parse_qs(urlsplit(first.text.splitlines()[-1].split('"')[1]).query)["vt"][0]
    prev = opened["genesis"]
    for seq, data in enumerate(pieces):
        digest = hashlib.sha256(data).hexdigest()
        answer = await client.put(
            f"{SESSIONS}/{opened['id']}/segments/{seq}",
            content=data,
            headers={**headers, "CW-Segment-SHA256": digest, "CW-Prev-SHA256": prev},
        )
        assert answer.status_code == 201, answer.text
        prev = digest
        if token is not None:
            done = time.perf_counter()
            wanted = f"segments/{seq}.m4s?"
            # Polling on purpose: it is what a player does.
            while wanted not in (await client.get(playlist, params={"vt": token})).text:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - done)


async def baseline(store: object, pieces: list[bytes], sessions: int) -> float:
    async def one(session_index: int) -> None:
        for seq, data in enumerate(pieces):
            unique = data + session_index.to_bytes(4, "big") + seq.to_bytes(4, "big")
            writer = await store.open_writer(expected_size=len(unique))  # type: ignore[attr-defined]
            await writer.write(unique)
            await writer.finish()

    started = time.perf_counter()
    await asyncio.gather(*(one(1000 + i) for i in range(sessions)))
    return sessions * len(pieces) / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="cw-bench-live-") as raw, database(Path(raw)) as url:
        tmp = Path(raw)
        migrate.upgrade(url)
        settings = Settings(
            data_dir=tmp / "data",
            database={"url": url},  # type: ignore[arg-type]
            jobs={"in_process_worker": False},  # type: ignore[arg-type]
        )
        db = Database(url)
        init, pieces = make_segments(tmp, args.segments)
        size = sum(len(p) for p in pieces) / len(pieces)
        print(
            f"{len(pieces)} segments of 2 s, {size / 1024:.0f} KiB average, "
            f"{args.sessions} sessions"
        )
        app = create_app(settings, db)
        store = store_for(settings, db)
        app.state.content_store = store
        devices = [await enroll(db, i) for i in range(args.sessions)]
        watch = await viewer(db)
        transport = httpx.ASGITransport(app=app)
        latencies: list[float] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    run_session(client, d, init, pieces, watch if i == 0 else None, latencies)
                    for i, d in enumerate(devices)
                )
            )
            elapsed = time.perf_counter() - started
        live_rate = args.sessions * len(pieces) / elapsed
        base_rate = await baseline(store, pieces, args.sessions)
        await db.dispose()
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"live ingest (API, chain, ledger):   {live_rate:8.1f} segments/s")
    print(f"baseline (content store only):      {base_rate:8.1f} segments/s")
    print(f"ratio live / baseline:              {live_rate / base_rate:8.2f}")
    print(
        f"segment-to-playable latency:        p50 {statistics.median(latencies) * 1000:.1f} ms"
        f"  p95 {p95 * 1000:.1f} ms  ({len(latencies)} segments, one viewer polling)"
    )
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=60)
    parser.add_argument("--sessions", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
