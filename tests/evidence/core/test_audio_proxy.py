"""Audio proxies: recorder audio (PCM WAV, AMR-NB, ...) gets a mono AAC MP4 the browser
plays, made by the derivatives job and served by the proxy endpoint as audio/mp4."""

from __future__ import annotations

import array
import io
import math

import av
import httpx
from sqlalchemy import select, text, update

from citywitness.access.levels import Role
from citywitness.agencies.models import Department
from citywitness.evidence.derivative_models import Derivative
from citywitness.evidence.media import probe
from citywitness.evidence.tasks import build_derivatives
from citywitness.evidence.transcode import AUDIO_PROXY_RATE, make_audio_proxy
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import register
from tests.evidence.core.samples import PDF
from tests.factories import PUBLIC_SECURITY, make_actor


def _sine(rate: int, seconds: float, layout: str = "mono") -> list[av.AudioFrame]:
    """440 Hz, in frames of 160 samples (AMR-NB's 20 ms at 8 kHz)."""
    channels = 2 if layout == "stereo" else 1
    total = int(rate * seconds)
    frames = []
    for start in range(0, total, 160):
        n = min(160, total - start)
        wave = array.array(
            "h",
            (
                int(math.sin(2 * math.pi * 440 * (start + i) / rate) * 8000)
                for i in range(n)
                for _ in range(channels)
            ),
        )
        frame = av.AudioFrame(format="s16", layout=layout, samples=n)
        pcm = wave.tobytes()
        frame.planes[0].update(pcm + bytes(frame.planes[0].buffer_size - len(pcm)))
        frame.sample_rate, frame.pts = rate, start
        frames.append(frame)
    return frames


def _decoded(data: bytes) -> array.array[float]:
    """The mono float samples of an AAC proxy."""
    samples: array.array[float] = array.array("f")
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(audio=0):
            plane = array.array("f", bytes(frame.planes[0]))
            samples.extend(plane[: frame.samples])
    return samples


def make_audio(fmt: str, codec: str, rate: int, seconds: float, layout: str = "mono") -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        if codec == "libopencore_amrnb":
            stream.bit_rate = 12_200
        for frame in _sine(rate, seconds, layout):
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def wav(seconds: float = 2.0) -> bytes:
    """A stereo 16-bit PCM WAV at 44.1 kHz (a desk recorder's file)."""
    return make_audio("wav", "pcm_s16le", 44_100, seconds, "stereo")


def amr(seconds: float = 3.0) -> bytes:
    """AMR-NB at 8 kHz (what many body-worn recorders write); browsers cannot play it."""
    return make_audio("amr", "libopencore_amrnb", 8000, seconds)


async def _no_reason(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Department)
            .where(Department.id == PUBLIC_SECURITY)
            .values(reason_required_for_playback=False)
        )


def test_make_audio_proxy_writes_mono_aac_mp4() -> None:
    for source, seconds in ((wav(2.0), 2.0), (amr(3.0), 3.0)):
        out = io.BytesIO()
        assert make_audio_proxy(io.BytesIO(source), out, 32_000) is True
        facts = probe(io.BytesIO(out.getvalue()))
        assert (facts.media_type, facts.video_codec, facts.audio_codec) == (
            "audio/mp4",
            None,
            "aac",
        )
        assert (facts.extra["channels"], facts.extra["sample_rate"]) == (1, AUDIO_PROXY_RATE)
        assert facts.duration_seconds is not None
        assert abs(facts.duration_seconds - seconds) < 0.1
        samples = _decoded(out.getvalue())  # it decodes, and is the tone
        assert len(samples) >= (seconds - 0.1) * AUDIO_PROXY_RATE
        rms = math.sqrt(sum(x * x for x in samples) / len(samples))
        assert 0.1 < rms < 0.25  # 8000 / 32768 / sqrt(2) = 0.17


def test_nothing_decodable_makes_no_audio_proxy() -> None:
    out = io.BytesIO()
    assert make_audio_proxy(io.BytesIO(PDF), out, 32_000) is False
    assert make_audio_proxy(io.BytesIO(b"#!AMR\n" + bytes(100)), io.BytesIO(), 32_000) is False


async def test_audio_items_get_a_proxy_served_as_audio_mp4(
    db: Database, store: ContentStore, settings: Settings, client: httpx.AsyncClient
) -> None:
    await _no_reason(db)
    item = (await register(db, store, amr(), filename="call.amr")).item
    assert (item.kind, item.media_type, item.audio_codec) == ("audio", "audio/amr", "amrnb")
    async with db.transaction() as session:  # the job is deferred with the registration
        args = (
            await session.execute(
                text(
                    "SELECT args FROM procrastinate_jobs"
                    " WHERE task_name = 'evidence:make_derivatives'"
                )
            )
        ).scalars()
        assert {"evidence_id": str(item.id)} in list(args)
    actor = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    proxy_url = f"/api/v1/evidence/{item.id}/proxy"
    early = await client.get(proxy_url, headers=actor.headers)
    assert (early.status_code, early.json()["error"]) == (404, "derivative_not_ready")

    assert await build_derivatives(db, store, settings.evidence, item.id) == {"proxy": "made"}
    assert await build_derivatives(db, store, settings.evidence, item.id) == {}

    whole = await client.get(proxy_url, headers=actor.headers)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "audio/mp4"
    facts = probe(io.BytesIO(whole.content))
    assert (facts.audio_codec, facts.extra["channels"]) == ("aac", 1)
    part = await client.get(proxy_url, headers={**actor.headers, "Range": "bytes=4-11"})
    assert (part.status_code, part.content) == (206, whole.content[4:12])
    assert part.headers["content-type"] == "audio/mp4"
    head = await client.head(proxy_url, headers=actor.headers)
    assert (head.status_code, head.headers["content-type"]) == (200, "audio/mp4")
    assert head.headers["content-length"] == str(len(whole.content))
    thumb = await client.get(f"/api/v1/evidence/{item.id}/thumbnail", headers=actor.headers)
    assert (thumb.status_code, thumb.json()["error"]) == (404, "derivative_not_ready")
    async with db.transaction() as session:
        row = await session.scalar(select(Derivative).where(Derivative.evidence_id == item.id))
        assert row is not None
        assert (row.kind, row.media_type, row.width, row.height) == (
            "proxy",
            "audio/mp4",
            None,
            None,
        )
        assert row.size_bytes == len(whole.content)
    item_out = await client.get(f"/api/v1/evidence/{item.id}", headers=actor.headers)
    assert item_out.json()["derivatives"] == ["proxy"]


async def test_wav_gets_a_proxy_and_long_audio_none(
    db: Database, store: ContentStore, settings: Settings
) -> None:
    short = (await register(db, store, wav(), filename="desk.wav")).item
    assert await build_derivatives(db, store, settings.evidence, short.id) == {"proxy": "made"}
    limited = settings.evidence.model_copy(update={"proxy_max_seconds": 1.0})
    long = (await register(db, store, wav(1.5), filename="long.wav")).item
    assert await build_derivatives(db, store, limited, long.id) == {}
