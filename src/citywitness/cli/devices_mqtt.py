"""`citywitness devices mqtt-acl`: access rules for an external Mosquitto, from the registry."""

from __future__ import annotations

import asyncio
import enum
from pathlib import Path
from typing import Annotated

import typer

from citywitness.cli.core import app, settings_from

devices_app = typer.Typer(help="Recorders.", no_args_is_help=True)
app.add_typer(devices_app, name="devices")

DEFAULT_BRIDGE_USER = "citywitness-bridge"


class AclFormat(enum.StrEnum):
    MOSQUITTO = "mosquitto"


async def _acl_text(url: str, bridge_user: str) -> str:
    from citywitness.devices.mqtt_acl import mosquitto_acl  # noqa: PLC0415 - keep --help fast
    from citywitness.kit.db import Database  # noqa: PLC0415

    database = Database(url, pool_size=1, max_overflow=0)
    try:
        async with database.transaction() as session:
            return await mosquitto_acl(session, bridge_username=bridge_user)
    finally:
        await database.dispose()


@devices_app.command("mqtt-acl")
def mqtt_acl(
    ctx: typer.Context,
    fmt: Annotated[
        AclFormat, typer.Option("--format", help="Broker whose ACL file to write.")
    ] = AclFormat.MOSQUITTO,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    bridge_user: Annotated[
        str | None,
        typer.Option(
            "--bridge-user",
            help=f"User name of the bridge (default: mqtt.username, else {DEFAULT_BRIDGE_USER}).",
        ),
    ] = None,
) -> None:
    """Write the broker's ACL file: each recorder its own topics, the bridge all of them."""
    from citywitness.runtime import database_url  # noqa: PLC0415

    settings = settings_from(ctx)
    user = bridge_user or settings.mqtt.username or DEFAULT_BRIDGE_USER
    assert fmt is AclFormat.MOSQUITTO  # noqa: S101 - the only format so far
    with database_url(settings) as url:
        text = asyncio.run(_acl_text(url, user))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        output.chmod(0o640)
