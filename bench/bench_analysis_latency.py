"""Live plate alert: latency from a live segment being accepted to the alert of a watch-listed
plate in it, p50/p95 over `--segments`, against the bare segment ingest in the same run.

Workload: a generated 640x360 video (PyAV, 10 fps, keyframe every second) of a vehicle with
a synthetic plate (`plate_synth`, GB style) drifting across the frame, remuxed into fMP4
segments of 1 s; the plate is on a `wanted` watch list of the recorder's department.  One
recorder opens a live session and sends the segments in order through the API (in process,
httpx ASGI transport) on an embedded PostgreSQL, with `analysis.live = [plates]`.

Per segment, measured from the PUT's answer (the segment accepted and committed):
the `analysis.live` consumer's batch (queues the segment's job), the job's body
(`live.analyse_segment`: decode, plates analyzer with its watch list from the database,
snapshot, findings + `analysis.alert` event committed) and the alerts consumer's batch
(the alert raised or refreshed).  Not included: the worker's and the consumers' wake-up
(a NOTIFY round trip each, milliseconds; see bench_alerts.py) and the WebSocket push.

Baseline in the same run: the PUT itself (bare live ingest: digest, probe, vault, chain,
ledger), p50/p95.  Printed: both, their p95 ratio, and the load average.  Goal: p95 <= 1.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import av
import httpx
from PIL import Image

import citywitness.schema  # noqa: F401 - every model, as in serve
from citywitness.alerts import raising
from citywitness.analysis import live, plate_synth
from citywitness.analysis.plate_watchlist_models import PlateList, PlateListEntry
from citywitness.app import create_app
from citywitness.evidence.runtime import store_for
from citywitness.identity.models import User
from citywitness.kit import migrate
from citywitness.kit.db import Database
from citywitness.kit.events import consume_once
from citywitness.media.models import SegmentFormat
from citywitness.media.segmenter import segments
from citywitness.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from bench_live import HOME, SESSIONS, database, enroll  # sibling bench

FPS = 10


def plate_video(tmp: Path, seconds: int) -> tuple[str, bytes, list[bytes]]:
    """The plate's text, the init segment and 1 s fMP4 segments of the drifting scene."""
    rng = random.Random(11)  # noqa: S311 - reproducible bench media
    plate = plate_synth.random_plate(rng, "gb")
    image, _ = plate_synth.scene(plate, rng, angle=0, blur=0.4, noise=3)
    base = Image.fromarray(image)
    path = tmp / "plate.mp4"
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = base.width, base.height, "yuv420p"
        stream.codec_context.gop_size = FPS
        for i in range(seconds * FPS):
            shifted = Image.new("RGB", base.size, (90, 90, 90))
            shifted.paste(base, ((i % 20) - 10, 0))
            out.mux(stream.encode(av.VideoFrame.from_image(shifted)))
        out.mux(stream.encode(None))
    init, found = b"", []
    for piece in segments(str(path), SegmentFormat.FMP4, target_seconds=1.0, scratch=tmp):
        if piece.seq is None:
            init = piece.data
        else:
            found.append(piece.data)
    return plate.text, init, found


async def watch(db: Database, text: str) -> None:
    async with db.transaction() as session:
        user = User(
            id=uuid.uuid4(),
            username=f"bench-{uuid.uuid4().hex[:6]}",
            display_name="Bench",
            password_hash="!",  # noqa: S106 - no password: not a login
            clearance=3,
        )
        session.add(user)
        await session.flush()
        listed = PlateList(
            id=uuid.uuid4(), department_id=HOME, name="wanted", kind="wanted", created_by=user.id
        )
        session.add(listed)
        await session.flush()
        session.add(
            PlateListEntry(
                id=uuid.uuid4(), list_id=listed.id, plate=text, reason="bench", added_by=user.id
            )
        )


async def stream(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    headers: dict[str, str],
    pieces: tuple[bytes, list[bytes]],
) -> tuple[list[float], list[float], int]:
    init, segs = pieces
    opened = (
        await client.post(
            SESSIONS,
            json={"format": "fmp4", "init_segment": base64.b64encode(init).decode()},
            headers=headers,
        )
    ).json()
    evidence_id = uuid.UUID(opened["evidence_id"])
    store = store_for(settings, db)
    to_job, alerts = live.consumer(settings), raising.consumer()
    ingest, analysed, raised = [], [], 0
    prev = opened["genesis"]
    for seq, data in enumerate(segs):
        digest = hashlib.sha256(data).hexdigest()
        started = time.perf_counter()
        answer = await client.put(
            f"{SESSIONS}/{opened['id']}/segments/{seq}",
            content=data,
            headers={**headers, "CW-Segment-SHA256": digest, "CW-Prev-SHA256": prev},
        )
        accepted = time.perf_counter()
        assert answer.status_code == 201, answer.text
        prev = digest
        await consume_once(db, to_job)
        found = await live.analyse_segment(db, store, settings, evidence_id, seq)
        handled = await consume_once(db, alerts)
        ingest.append(accepted - started)
        if found and handled:
            analysed.append(time.perf_counter() - accepted)
            raised += 1
    return ingest, analysed, raised


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


async def main(args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="cw-bench-analysis-") as raw,
        database(Path(raw)) as url,
    ):
        tmp = Path(raw)
        migrate.upgrade(url)
        settings = Settings(
            data_dir=tmp / "data",
            database={"url": url},  # type: ignore[arg-type]
            jobs={"in_process_worker": False},  # type: ignore[arg-type]
            analysis={"live": ["plates"], "analyzers": {"plates": {"sample_fps": args.fps}}},  # type: ignore[arg-type]
        )
        db = Database(url)
        text, init, segs = plate_video(tmp, args.segments)
        await watch(db, text)
        app = create_app(settings, db)
        app.state.content_store = store_for(settings, db)
        headers = await enroll(db, 0)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            ingest, alerted, raised = await stream(client, db, settings, headers, (init, segs))
        await db.dispose()
    print(f"{len(segs)} segments of 1 s, 640x360, plates sampled at {args.fps} fps")
    print(f"segments with a watch-list alert:   {raised} / {len(segs)}")
    if not alerted:
        print("no alert was raised: nothing to time")
        return
    print(
        f"segment-to-alert latency:           p50 {statistics.median(alerted) * 1000:7.1f} ms"
        f"  p95 {p95(alerted) * 1000:7.1f} ms  (goal p95 <= 1500 ms)"
    )
    print(
        f"baseline (bare live segment PUT):   p50 {statistics.median(ingest) * 1000:7.1f} ms"
        f"  p95 {p95(ingest) * 1000:7.1f} ms"
    )
    print(f"ratio p95 alert / p95 ingest:       {p95(alerted) / p95(ingest):7.2f}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--fps", type=float, default=2.0, help="Plates sampling rate.")
    asyncio.run(main(parser.parse_args()))
