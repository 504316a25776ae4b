"""`camera pull`: a fixed camera's stream remuxed into segments and sent as a live session.

No RTSP server can be installed here, and PyAV's RTMP muxer cannot listen for players, so
the source is (a) a file URL and (b) RTMP with the adapter listening and a publisher thread
pushing the generated stream to it (what a camera configured to push RTMP does).
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
import uuid
from pathlib import Path

import av
import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from citywitness.cli import app as cli_app
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.media.client import pull
from citywitness.media.models import SegmentFormat
from citywitness.media.segmenter import segments
from citywitness.media.synthetic import write_video
from tests.devices.helpers import Enrolled, make_enrolled


def _client(app: FastAPI, device: Enrolled) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=device.headers)


def _expected(source: str, fmt: SegmentFormat) -> bytes:
    return b"".join(piece.data for piece in segments(source, fmt))


@pytest.mark.parametrize("fmt", list(SegmentFormat))
async def test_pull_a_file_into_a_sealed_item(
    fmt: SegmentFormat, db: Database, app: FastAPI, tmp_path: Path
) -> None:
    source = write_video(tmp_path / "camera.mp4", seconds=5)
    device = await make_enrolled(db)
    async with _client(app, device) as client:
        result = await pull(str(source), client, fmt=fmt)
    content = _expected(str(source), fmt)
    assert (result.segments, result.state) == (3, "sealed")
    assert [a["seq"] for a in result.answers] == [0, 1, 2]
    assert all(a["chain_verified"] for a in result.answers)
    assert result.final_sha256 == hashlib.sha256(content).hexdigest()
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, uuid.UUID(result.evidence_id))
    assert item is not None and (item.state, item.size_bytes) == ("active", len(content))
    assert item.recorder_serial == device.identity.serial
    with av.open(str(source)) as original:
        frames = original.streams.video[0].frames
    assert frames == 50


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _publish(source: Path, url: str) -> None:
    time.sleep(0.5)  # the adapter is listening by then
    with av.open(str(source)) as inp, av.open(url, mode="w", format="flv") as out:
        mapping = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)


async def test_pull_rtmp_pushed_by_a_camera(db: Database, app: FastAPI, tmp_path: Path) -> None:
    source = write_video(tmp_path / "camera.mp4", seconds=5)
    url = f"rtmp://127.0.0.1:{_free_port()}/live/cam"
    publisher = threading.Thread(target=_publish, args=(source, url), daemon=True)
    publisher.start()
    device = await make_enrolled(db)
    async with _client(app, device) as client:
        result = await pull(url, client, input_options={"listen": "1", "timeout": "20"})
    publisher.join(10)
    assert (result.segments, result.state) == (3, "sealed")
    assert [a["duration_seconds"] for a in result.answers] == [2.0, 2.0, 1.0]


def test_cli_needs_the_secret_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITYWITNESS_DEVICE_SECRET", raising=False)
    outcome = CliRunner().invoke(cli_app, ["camera", "pull", "--url", "x.mp4", "--serial", "CAM-1"])
    assert outcome.exit_code == 2
    assert "CITYWITNESS_DEVICE_SECRET" in outcome.output
