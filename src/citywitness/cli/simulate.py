"""`citywitness simulate`: a fleet of virtual recorders against a running platform.

    citywitness simulate --devices 1000 --duration 5m --token-stdin < token.txt
    citywitness simulate city --geojson city.geojson

The fleet is a client: it reaches the API at `--url` (default: server.public_url) and the
broker at `--mqtt` (default: the API host and mqtt.listen_port), with an API token of a
department admin (`--token-stdin`, or CITYWITNESS_TOKEN) to register and enroll recorders.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from citywitness.cli.core import app, settings_from
from citywitness.kit.logs import configure_logging
from citywitness.simulator.city import CitySpec, connected, generate_city, geojson_bytes
from citywitness.simulator.fleet import Fleet, FleetOptions
from citywitness.simulator.provision import ProvisionError
from citywitness.simulator.recorder import Behaviour

simulate_app = typer.Typer(
    help="Virtual recorders: a city's fleet driving the platform over MQTT and HTTPS.",
    invoke_without_command=True,
)
app.add_typer(simulate_app, name="simulate")
err = Console(stderr=True, highlight=False, soft_wrap=True)
UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """`90`, `90s`, `5m`, `1h`; 0 runs until interrupted."""
    text = text.strip().lower()
    unit = UNITS.get(text[-1:], 0)
    try:
        return float(text[:-1]) * unit if unit else float(text)
    except ValueError as exc:
        raise typer.BadParameter("a number of seconds, or 90s, 5m, 1h") from exc


def _token(token_stdin: bool, token: str | None) -> str:
    if token_stdin:
        token = sys.stdin.readline().strip()
    if not token:
        err.print("[red]an API token is needed:[/red] --token-stdin, or CITYWITNESS_TOKEN")
        raise typer.Exit(2)
    return token


async def _wait_ready(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while True:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ProvisionError(f"{url} not ready within {seconds:.0f} s")
            await asyncio.sleep(0.5)


async def _run(
    options: FleetOptions, token: str, duration: float, wait_ready: float
) -> dict[str, Any]:
    if wait_ready > 0:
        await _wait_ready(options.url, wait_ready)
    fleet = Fleet(options, token)
    task = asyncio.ensure_future(fleet.run(duration))
    loop = asyncio.get_running_loop()

    def interrupt() -> None:  # stop cleanly once: drain, disconnect, summarise
        if not fleet.stopping_requested:
            fleet.stopping_requested = True
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    try:
        return await task
    except asyncio.CancelledError:
        return fleet.summary()


@simulate_app.callback()
def simulate(  # noqa: PLR0917 - Typer options, passed by name
    ctx: typer.Context,
    devices: Annotated[int, typer.Option(min=1, max=100_000, help="Virtual recorders.")] = 20,
    duration: Annotated[
        str, typer.Option(help="How long: 60, 90s, 5m, 1h; 0 until Ctrl-C.")
    ] = "60",
    url: Annotated[
        str | None, typer.Option(help="API base URL (default server.public_url).")
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option(help="Broker, mqtt://host:port (default: API host, mqtt.listen_port)."),
    ] = None,
    video: Annotated[int, typer.Option(min=0, help="How many recorders stream live video.")] = 0,
    video_session: Annotated[
        float, typer.Option(min=0, help="Seconds per live session, 30 s apart; 0: one per run.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(min=0, help="Serials SIM<seed>-n, the city, the walks.")] = 1,
    department: Annotated[
        list[str] | None, typer.Option(help="Department code to use; repeat. Default: all.")
    ] = None,
    https_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of recorders that send over HTTPS, not MQTT.")
    ] = 0.1,
    report_interval: Annotated[
        float, typer.Option(min=0.2, help="Seconds between telemetry messages.")
    ] = 10.0,
    fix_interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between position fixes.")
    ] = 2.0,
    sos_per_hour: Annotated[
        float, typer.Option(min=0, help="Random SOS presses per recorder-hour.")
    ] = 0.05,
    drops_per_hour: Annotated[
        float, typer.Option(min=0, help="Network drops per recorder-hour.")
    ] = 0.5,
    truth_dir: Annotated[
        Path | None, typer.Option(help="Write each video segment's ground truth here (JSON lines).")
    ] = None,
    city_geojson: Annotated[
        Path | None,
        typer.Option(help="Write the simulated city's streets here (GeoJSON) once it is set up."),
    ] = None,
    summary_json: Annotated[
        Path | None, typer.Option("--json", help="Write the full summary (per recorder) here.")
    ] = None,
    drain_timeout: Annotated[
        float, typer.Option(help="Seconds to deliver queued messages at the end.")
    ] = 60.0,
    wait_ready: Annotated[float, typer.Option(help="Wait this long for /readyz first.")] = 0.0,
    console: Annotated[
        bool,
        typer.Option(
            help="Also open a console WebSocket (the token needs alerts:read) and report "
            "SOS press -> console delivery (sos_to_console)."
        ),
    ] = False,
    token_stdin: Annotated[bool, typer.Option(help="Read the API token from stdin.")] = False,
    token: Annotated[
        str | None, typer.Option(envvar="CITYWITNESS_TOKEN", hidden=True, show_envvar=False)
    ] = None,
) -> None:
    """Run DEVICES virtual recorders for DURATION and print what they sent."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_from(ctx)
    configure_logging(settings.logging.level, settings.logging.json_output)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    if mqtt is None and settings.mqtt.url is not None:
        mqtt = settings.mqtt.url
    base = url or settings.server.public_url
    if mqtt is None:
        host = httpx.URL(base).host or "127.0.0.1"
        mqtt = f"mqtt://{host}:{settings.mqtt.listen_port}"
    options = FleetOptions(
        devices=devices,
        url=base,
        mqtt_url=mqtt,
        video=min(video, devices),
        seed=seed,
        https_share=https_share,
        departments=list(department or []),
        behaviour=Behaviour(
            fix_interval_s=fix_interval,
            report_interval_s=report_interval,
            sos_per_hour=sos_per_hour,
            drops_per_hour=drops_per_hour,
        ),
        truth_dir=truth_dir,
        drain_timeout_s=drain_timeout,
        video_session_s=video_session,
        console=console,
        city_geojson=city_geojson,
    )
    secret = _token(token_stdin, token)
    err.print(f"simulating {devices} recorders ({options.video} with video) against {base}, {mqtt}")
    try:
        summary = asyncio.run(_run(options, secret, parse_duration(duration), wait_ready))
    except ProvisionError as exc:
        err.print(f"[red]set-up failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    short = {k: v for k, v in summary.items() if k != "per_recorder"}
    typer.echo(json.dumps(short, indent=2, ensure_ascii=False))


@simulate_app.command("city")
def city(  # noqa: PLR0917 - Typer options, passed by name
    geojson: Annotated[Path, typer.Option(help="Write the street network here (GeoJSON).")],
    seed: Annotated[int, typer.Option(min=0)] = 1,
    lat: Annotated[float, typer.Option(min=-85, max=85, help="Centre latitude.")] = 31.23,
    lon: Annotated[float, typer.Option(min=-180, max=180, help="Centre longitude.")] = 121.47,
    size_m: Annotated[
        float, typer.Option(min=400, max=50_000, help="Width of the city, metres.")
    ] = 4000,
    department: Annotated[
        list[str] | None, typer.Option(help="One district per department code; repeat.")
    ] = None,
) -> None:
    """Export the demo city's street network and districts as GeoJSON."""
    spec = CitySpec(
        seed=seed,
        center_lat=lat,
        center_lon=lon,
        size_m=size_m,
        departments=tuple(department or ["public-security"]),
    )
    generated = generate_city(spec)
    geojson.write_bytes(geojson_bytes(generated))
    typer.echo(
        f"{len(generated.streets)} streets, {len(generated.adjacency)} junctions, "
        f"{len(generated.districts)} districts, connected: {connected(generated)} -> {geojson}"
    )
