"""`citywitness demo` (what `make demo` runs): the platform on embedded defaults.

Starts the database (embedded unless configured), migrates it, makes sure a platform
administrator `admin` exists, prints the URL (and, on the first start only, the one-time
password), then serves exactly like `citywitness serve`.  A small simulated fleet drives it
(`--fleet-devices` recorders, `--fleet-video` of them streaming; `--no-fleet` turns it off):
`citywitness simulate` in a child process, with an API token of `admin` made for it.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Annotated

import typer
from pydantic import SecretStr
from rich.console import Console

from citywitness.access.levels import Classification, Role
from citywitness.agencies import service as agencies
from citywitness.audit.service import Auditor
from citywitness.cli.core import app, settings_from
from citywitness.identity import service as identity
from citywitness.identity.principals import load_principal
from citywitness.identity.tokens import issue_token
from citywitness.kit.db import Database
from citywitness.kit.logs import configure_logging
from citywitness.runtime import database_url
from citywitness.settings import Settings
from citywitness.simulator.provision import SCOPES

DEMO_ADMIN = "admin"
# A platform admin's membership must live somewhere; the role grants every permission in
# every department.  The seeded public-security department, where the demo officers are.
HOME_DEPARTMENT = agencies.DEMO_DEPARTMENT
FLEET_SCOPES = SCOPES  # what `simulate` needs to register, enroll and bind recorders
FLEET_STOP_SECONDS = 20.0
CITY_GEOJSON = "city.geojson"  # the simulated city, written by the fleet: the demo's base map

stdout = Console(highlight=False, soft_wrap=True)


async def bootstrap_demo(url: str, password_min_length: int) -> str | None:
    """On the first start: the platform administrator `admin` (audited as the system) and
    the demo patrol unit with its officers.

    Returns the new one-time password, or None when the user already existed.
    """
    db = Database(url, pool_size=1, max_overflow=0)
    try:
        async with db.transaction() as session:
            if await identity.get_user_by_username(session, DEMO_ADMIN) is not None:
                return None
            password = secrets.token_urlsafe(max(15, password_min_length))
            user = await identity.create_user(
                session,
                username=DEMO_ADMIN,
                display_name="Demo administrator",
                password=password,
                clearance=Classification.SECRET,
                min_length=password_min_length,
            )
            await identity.add_membership(
                session, user_id=user.id, department_id=HOME_DEPARTMENT, role=Role.PLATFORM_ADMIN
            )
            await Auditor(session=session, actor=None, actor_kind="system").record(
                "user.created",
                object_type="user",
                object_id=user.id,
                department_id=HOME_DEPARTMENT,
                details={"via": "demo", "role": Role.PLATFORM_ADMIN.value},
            )
            await agencies.seed_demo(session)  # a patrol unit and three officers
        return password
    finally:
        await db.dispose()


async def fleet_token(url: str) -> str | None:
    """A one-day API token of `admin` for the demo fleet (audited); None without `admin`."""
    db = Database(url, pool_size=1, max_overflow=0)
    try:
        async with db.transaction() as session:
            user = await identity.get_user_by_username(session, DEMO_ADMIN)
            if user is None:
                return None
            owner = await load_principal(session, user)
            issued = await issue_token(
                session, owner, name="demo fleet", scopes=list(FLEET_SCOPES), expires_in_days=1
            )
            await Auditor(session=session, actor=None, actor_kind="system").record(
                "auth.tokens.create",
                object_type="api_token",
                object_id=issued.token.id,
                department_id=HOME_DEPARTMENT,
                details={"via": "demo", "prefix": issued.token.prefix, "for": "simulator"},
            )
        return issued.secret
    finally:
        await db.dispose()


def start_fleet(  # noqa: PLR0917 - the demo's choices
    settings: Settings,
    config: Path | None,
    token: str,
    devices: int,
    video: int,
    city_geojson: Path | None = None,
) -> subprocess.Popen[bytes]:
    """`citywitness simulate` in a child process, until the demo stops; logs in the data dir."""
    command = [sys.executable, "-m", "citywitness"]
    if config is not None:
        command += ["--config", str(config)]
    command += [
        "simulate",
        "--devices", str(devices),
        "--video", str(video),
        "--video-session", "300",
        "--duration", "0",
        "--url", settings.server.public_url,
        "--wait-ready", "300",
        "--drain-timeout", "5",
        "--token-stdin",
    ]  # fmt: skip
    if not settings.mqtt.enabled:
        command += ["--https-share", "1"]
    if city_geojson is not None:
        command += ["--city-geojson", str(city_geojson)]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log: IO[bytes] = (settings.data_dir / "simulator.log").open("ab")
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=log)  # noqa: S603 - our own CLI
    if child.stdin is not None:
        child.stdin.write(token.encode() + b"\n")
        child.stdin.close()
    return child


def stop_fleet(child: subprocess.Popen[bytes]) -> None:
    """Ask the fleet to stop (SIGINT, as Ctrl-C would), give it time, then make sure."""
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
    try:
        child.wait(FLEET_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        child.terminate()
        try:
            child.wait(FLEET_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def with_city_basemap(settings: Settings, *, fleet: bool) -> Settings:
    """With a simulated fleet and no map of its own, the console draws the simulated city."""
    console = settings.console
    if not fleet or console.basemap_geojson is not None or console.tile_url is not None:
        return settings
    city = settings.data_dir / CITY_GEOJSON
    return settings.model_copy(
        update={"console": console.model_copy(update={"basemap_geojson": city})}
    )


def print_banner(settings: Settings, password: str | None) -> None:
    url = settings.server.public_url
    stdout.print()
    stdout.print(f"[bold]CityWitness[/bold] is starting at [bold cyan]{url}[/bold cyan]")
    stdout.print(f"  open the command-centre console in a browser: [bold cyan]{url}/[/bold cyan]")
    if password is not None:
        stdout.print(
            f"  sign in as [bold]{DEMO_ADMIN}[/bold] with the one-time password "
            f"[bold yellow]{password}[/bold yellow]"
        )
        stdout.print("  (shown only now; it is not stored anywhere in clear text)")
    else:
        stdout.print(
            f"  the credentials of [bold]{DEMO_ADMIN}[/bold] were shown on the first start; "
            f"to set a new password run: citywitness users reset-password {DEMO_ADMIN}"
        )
    stdout.print(f"  data: {settings.data_dir.resolve()}   stop: Ctrl-C")
    stdout.print()


@app.command("demo")
def demo(
    ctx: typer.Context,
    fleet: Annotated[
        bool, typer.Option(help="Run a simulated fleet of recorders against the demo.")
    ] = True,
    fleet_devices: Annotated[int, typer.Option(min=1, help="Simulated recorders.")] = 20,
    fleet_video: Annotated[int, typer.Option(min=0, help="How many of them stream video.")] = 2,
) -> None:
    """Run the platform on embedded defaults with a demo administrator (`make demo`)."""
    from citywitness.server import run_server  # noqa: PLC0415

    settings = with_city_basemap(settings_from(ctx), fleet=fleet)
    configure_logging(settings.logging.level, settings.logging.json_output)
    with database_url(settings) as url:
        password = asyncio.run(bootstrap_demo(url, settings.auth.password_min_length))
        print_banner(settings, password)
        child = None
        token = asyncio.run(fleet_token(url)) if fleet else None
        if token is not None:
            child = start_fleet(
                settings,
                ctx.find_root().obj,
                token,
                fleet_devices,
                fleet_video,
                city_geojson=settings.console.basemap_geojson,
            )
            stdout.print(
                f"  simulated fleet: {fleet_devices} recorders, {min(fleet_video, fleet_devices)} "
                f"streaming video (log: {settings.data_dir / 'simulator.log'}; --no-fleet: off)"
            )
        # The database is up and migrated: serve on it; it is stopped when this block ends.
        database = settings.database.model_copy(update={"url": SecretStr(url)})
        try:
            run_server(settings.model_copy(update={"database": database}))
        finally:
            if child is not None:
                stop_fleet(child)
