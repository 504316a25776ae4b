"""A fleet of virtual recorders in one asyncio process, and what it sent (the truth).

`Fleet.setup()` provisions the recorders through the API; `start()` runs them (each its own
MQTT connection with its own credential, or HTTPS for a share of them; the first `video`
recorders also stream live video); `stop()` stops the sensors, lets every outbox drain
(`drain_timeout_s`) and closes the connections; `summary()` counts what the platform took.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from citywitness.simulator.city import City, city_for, geojson_bytes
from citywitness.simulator.console import AlertConsole, SosDelivery
from citywitness.simulator.movement import Mover
from citywitness.simulator.provision import Credential, Provisioner
from citywitness.simulator.recorder import Behaviour, VirtualRecorder
from citywitness.simulator.streamer import Streamer, StreamRefused

log = logging.getLogger(__name__)


@dataclass
class FleetOptions:
    devices: int = 20
    url: str = "http://127.0.0.1:8000"
    mqtt_url: str | None = None  # default: the API host, port 1884 (the embedded broker)
    video: int = 0
    seed: int = 1
    https_share: float = 0.1
    departments: list[str] = field(default_factory=list)
    behaviour: Behaviour = field(default_factory=Behaviour)
    truth_dir: Path | None = None
    center: tuple[float, float] | None = None
    drain_timeout_s: float = 60.0
    video_size: tuple[int, int] = (640, 360)
    video_fps: int = 10
    video_session_s: float = 0.0  # 0: one live session for the whole run
    video_pause_s: float = 30.0  # between two live sessions
    track_send_times: bool = False  # keep each message's send time (for bench/bench_fleet.py)
    console: bool = False  # open a console WebSocket (token with alerts:read): SOS latency
    city_geojson: Path | None = None  # write the city's streets here (the console's base map)


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def mqtt_address(options: FleetOptions) -> tuple[str, int]:
    if options.mqtt_url:
        parts = urlsplit(options.mqtt_url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError(f"--mqtt must be mqtt://host:port, not {options.mqtt_url!r}")
        return parts.hostname, parts.port or 1883
    return urlsplit(options.url).hostname or "127.0.0.1", 1884


def uses_https(index: int, share: float) -> bool:
    """Spread the HTTPS recorders evenly: with 0.1, the 10th, 20th, 30th..."""
    return int((index + 1) * share) > int(index * share)


class Fleet:
    def __init__(self, options: FleetOptions, token: str) -> None:
        self.options = options
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self.admin = httpx.AsyncClient(
            base_url=options.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
            limits=limits,
        )
        self.http = httpx.AsyncClient(base_url=options.url, timeout=60, limits=limits)
        self.city: City | None = None
        self.recorders: list[VirtualRecorder] = []
        self.streamers: list[Streamer] = []
        self.stopping = asyncio.Event()
        self.stopping_requested = False  # a signal asked for the stop (the CLI's handler)
        self.sensors_stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._senders: list[asyncio.Task[None]] = []
        self.started = 0.0
        self.stopped = 0.0
        self.setup_seconds = 0.0
        self.console = AlertConsole(options.url, token) if options.console else None
        self.sos_delivery: SosDelivery | None = None

    async def setup(self) -> list[Credential]:
        began = time.monotonic()
        o = self.options
        provisioner = Provisioner(self.admin, self.http, seed=o.seed)
        departments = await provisioner.departments(o.departments or None)
        self.city = city_for(o.seed, [code for code, _ in departments], o.center)
        if o.city_geojson is not None:
            write_atomically(o.city_geojson, geojson_bytes(self.city))
        credentials = await provisioner.provision(o.devices, departments)
        address = mqtt_address(o)
        for cred in credentials:
            rng = random.Random(o.seed * 1_000_003 + cred.index)
            nodes = self.city.nodes_in(cred.department_code)
            mover = Mover(self.city, rng, start=rng.choice(nodes), driving=rng.random() < 0.35)
            https = uses_https(cred.index, o.https_share)
            self.recorders.append(
                VirtualRecorder(
                    cred,
                    mover,
                    rng,
                    transport="https" if https else "mqtt",
                    behaviour=o.behaviour,
                    http=self.http,
                    mqtt_address=None if https else address,
                )
            )
        if o.track_send_times:
            for recorder in self.recorders:
                recorder.tally.sent_at = {}
        for recorder in self.recorders[: o.video]:
            width, height = o.video_size
            self.streamers.append(
                Streamer(
                    recorder,
                    self.http,
                    seed=o.seed * 7919 + recorder.credential.index,
                    width=width,
                    height=height,
                    fps=o.video_fps,
                    truth_dir=o.truth_dir,
                    drain_seconds=o.drain_timeout_s,
                )
            )
        self.setup_seconds = time.monotonic() - began
        return credentials

    def start(self) -> None:
        self.started = time.monotonic()
        for recorder in self.recorders:
            self._senders.append(asyncio.create_task(recorder.sender(self.stopping)))
            self._tasks.append(asyncio.create_task(self._sensors(recorder)))
        for streamer in self.streamers:
            self._tasks.append(asyncio.create_task(self._stream(streamer)))

    async def _stream(self, streamer: Streamer) -> None:
        try:
            await streamer.run(
                self.sensors_stop,
                session_seconds=self.options.video_session_s,
                pause_seconds=self.options.video_pause_s,
            )
        except StreamRefused as exc:
            log.error(
                "live stream stopped", extra={"serial": streamer.recorder.serial, "why": str(exc)}
            )

    async def _sensors(self, recorder: VirtualRecorder) -> None:
        b = recorder.behaviour
        loop = asyncio.get_running_loop()
        stop = self.sensors_stop
        with contextlib.suppress(TimeoutError):  # spread the fleet over a report interval
            await asyncio.wait_for(stop.wait(), recorder.rng.uniform(0, b.report_interval_s))
        recorder.event("power_on")
        recorder.status()
        t = loop.time()
        next_report, next_status = t + b.report_interval_s, t + b.status_interval_s
        drops: list[asyncio.Task[None]] = []
        while not stop.is_set():
            t += b.fix_interval_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, t - loop.time()))
            if stop.is_set():
                break
            recorder.tick(b.fix_interval_s)
            if loop.time() >= next_report:
                recorder.report()
                next_report += b.report_interval_s
            if loop.time() >= next_status:
                recorder.status()
                next_status += b.status_interval_s
            if recorder.rng.random() < b.drops_per_hour * b.fix_interval_s / 3600:
                drops.append(
                    asyncio.create_task(recorder.drop(recorder.rng.uniform(*b.drop_seconds)))
                )
        recorder.report()
        for task in drops:
            task.cancel()
        recorder.network_up.set()
        recorder.wake.set()

    async def stop(self) -> None:
        """Stop the sensors and streams, deliver what is queued, disconnect."""
        self.sensors_stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.stopping.set()
        for recorder in self.recorders:
            recorder.wake.set()
        _done, pending = (
            await asyncio.wait(self._senders, timeout=self.options.drain_timeout_s)
            if self._senders
            else (set(), set())
        )
        for task in pending:
            task.cancel()
        self.stopped = time.monotonic()
        await asyncio.gather(*(r.close() for r in self.recorders), return_exceptions=True)
        await self.admin.aclose()
        await self.http.aclose()

    async def run(self, duration_s: float) -> dict[str, Any]:
        """setup, start, wait `duration_s` (0: until cancelled), stop; the summary."""
        await self.setup()
        if self.console is not None:
            await self.console.start()
        self.start()
        try:
            if duration_s > 0:
                await asyncio.sleep(duration_s)
            else:
                await asyncio.Event().wait()
        finally:
            await asyncio.shield(self._finish())
        return self.summary()

    async def _finish(self) -> None:
        await self.stop()
        if self.console is not None:  # the pushes of the last presses may still be coming
            presses = self.sos_presses()
            self.sos_delivery = await self.console.wait_for(presses, self.options.drain_timeout_s)
            await self.console.close()

    def sos_presses(self) -> dict[str, list[float]]:
        """Recorder id -> wall time of each SOS press (for `console.AlertConsole.sos`)."""
        return {
            r.credential.recorder_id: list(r.tally.sos_pressed_at)
            for r in self.recorders
            if r.tally.sos_pressed_at
        }

    def summary(self) -> dict[str, Any]:
        messages: Counter[str] = Counter()
        events: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        per_recorder = {}
        for r in self.recorders:
            t = r.tally
            messages.update(t.messages)
            events.update(t.events)
            for key in ("duplicates", "resends", "refused", "drops", "reconnects", "commands"):
                totals[key] += getattr(t, key)
            totals["positions"] += t.positions
            totals["delivered_after_drop"] += t.delivered_after_drop
            totals["undelivered"] += len(r.outbox)
            per_recorder[r.serial] = {
                "recorder_id": r.credential.recorder_id,
                "transport": r.transport,
                "positions": t.positions,
                "messages": dict(t.messages),
                "events": dict(t.events),
                "drops": t.drops,
            }
        elapsed = (self.stopped or time.monotonic()) - (self.started or time.monotonic())
        return {
            "recorders": len(self.recorders),
            "transports": dict(Counter(r.transport for r in self.recorders)),
            "setup_seconds": round(self.setup_seconds, 2),
            "run_seconds": round(elapsed, 2),
            "messages": dict(messages),
            "positions": totals["positions"],
            "events": dict(events),
            **{
                k: totals[k]
                for k in (
                    "duplicates",
                    "resends",
                    "refused",
                    "drops",
                    "reconnects",
                    "delivered_after_drop",
                    "commands",
                    "undelivered",
                )
            },
            "video": [
                {
                    "serial": s.recorder.serial,
                    "sessions": s.tally.sessions,
                    "segments": s.tally.segments_sent,
                    "bytes": s.tally.bytes_sent,
                    "plates": s.tally.plates,
                }
                for s in self.streamers
            ],
            "sos_to_console": _delivery(self.sos_delivery),
            "per_recorder": per_recorder,
        }


def _delivery(found: SosDelivery | None) -> dict[str, Any] | None:
    """SOS press -> console push in milliseconds (None without `console`)."""
    if found is None:
        return None
    ordered = sorted(found.latencies)

    def at(share: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)

    return {
        "presses": found.presses,
        "undelivered": found.undelivered,
        "p50_ms": at(0.5),
        "p95_ms": at(0.95),
        "max_ms": at(1.0),
    }
