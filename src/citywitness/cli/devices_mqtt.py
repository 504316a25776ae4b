"""`citywitness devices mqtt-acl` / `mqtt-passwd`: an external Mosquitto's access rules and
password file, from the registry."""

from __future__ import annotations

import asyncio
import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from citywitness.cli.core import app, console, settings_from

if TYPE_CHECKING:
    from citywitness.devices.mqtt_passwd import PasswordFile

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
    _write(text, output)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    partial = output.with_name(output.name + ".partial")
    partial.touch(mode=0o640)
    partial.chmod(0o640)  # Mosquitto reads it (group), nobody else does
    partial.write_text(text, encoding="utf-8")
    partial.replace(output)  # a SIGHUP never sees a half-written file


async def _passwd_file(url: str, bridge: tuple[str, str] | None) -> PasswordFile:
    from citywitness.devices.mqtt_passwd import mosquitto_password_file  # noqa: PLC0415
    from citywitness.kit.db import Database  # noqa: PLC0415

    database = Database(url, pool_size=1, max_overflow=0)
    try:
        async with database.transaction() as session:
            return await mosquitto_password_file(session, bridge=bridge)
    finally:
        await database.dispose()


@devices_app.command("mqtt-passwd")
def mqtt_passwd(
    ctx: typer.Context,
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
    """Write Mosquitto's password_file: each active recorder's `$7$` hash, and the bridge's
    (from mqtt.password, when set). Revoked credentials and retired recorders are left out."""
    from citywitness.runtime import database_url  # noqa: PLC0415

    settings = settings_from(ctx)
    user = bridge_user or settings.mqtt.username or DEFAULT_BRIDGE_USER
    password = settings.mqtt.password
    bridge = (user, password.get_secret_value()) if password is not None else None
    with database_url(settings) as url:
        made = asyncio.run(_passwd_file(url, bridge))
    _write(made.text, output)
    if bridge is None:
        console.print("note: mqtt.password is not set, so the bridge has no line")
    if made.without_hash:
        console.print(
            f"warning: {len(made.without_hash)} recorder(s) have a credential issued before "
            "Mosquitto hashes were kept and get no line; re-enroll them: "
            + ", ".join(made.without_hash[:20])
        )
