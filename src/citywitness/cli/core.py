"""Root command, settings loading, and the core commands: serve, db, config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from citywitness.settings import Settings, SettingsError, load_settings, masked_dump

app = typer.Typer(
    name="citywitness",
    help="CityWitness: evidence, telemetry and early warning for law-enforcement recorders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Effective configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")

console = Console(stderr=True)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML settings file.", envvar="CW_CONFIG_FILE")
    ] = None,
) -> None:
    ctx.obj = config


def settings_from(ctx: typer.Context) -> Settings:
    """The settings for this invocation; a clear message and exit 2 on a bad key."""
    root_ctx = ctx.find_root()
    try:
        return load_settings(root_ctx.obj)
    except SettingsError as exc:
        console.print(f"[red]configuration error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings as JSON, secrets masked."""
    settings = settings_from(ctx)
    typer.echo(json.dumps(masked_dump(settings), indent=2, ensure_ascii=False))


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply all migrations (starting the embedded server if no URL is configured)."""
    from citywitness.kit import migrate  # noqa: PLC0415
    from citywitness.runtime import database_url  # noqa: PLC0415

    settings = settings_from(ctx)
    with database_url(settings, upgrade=True) as url:
        typer.echo(f"database at revision {migrate.current_revision(url)}")


@app.command("serve")
def serve(ctx: typer.Context) -> None:
    """Run the platform: database (embedded by default), migrations, API and a job worker."""
    from citywitness.server import run_server  # noqa: PLC0415

    run_server(settings_from(ctx))


from citywitness.cli import analysis as _analysis_commands  # noqa: E402, F401 - `models`, `analyze`
from citywitness.cli import camera as _camera_commands  # noqa: E402, F401 - `camera pull`
from citywitness.cli import demo as _demo_command  # noqa: E402, F401 - registers `demo`
from citywitness.cli import devices as _devices_commands  # noqa: E402, F401 - `devices add ...`
from citywitness.cli import devices_mqtt as _devices_mqtt  # noqa: E402, F401 - `devices mqtt-acl`
from citywitness.cli import docs as _docs_commands  # noqa: E402, F401 - `openapi`, `config reference`
from citywitness.cli import export as _export_command  # noqa: E402, F401 - registers `export`
from citywitness.cli import ingest as _ingest_command  # noqa: E402, F401 - registers `ingest`
from citywitness.cli import ledger as _ledger_commands  # noqa: E402, F401 - `ledger ...`
from citywitness.cli import ledger_witness as _ledger_witness  # noqa: E402, F401 - `ledger witness`
from citywitness.cli import redact as _redact_command  # noqa: E402, F401 - registers `redact`
from citywitness.cli import simulate as _simulate_commands  # noqa: E402, F401 - `simulate`
from citywitness.cli import storage as _storage_commands  # noqa: E402, F401 - `storage check`
from citywitness.cli import users as _users_commands  # noqa: E402, F401 - registers `users`
from citywitness.cli import verify as _verify_command  # noqa: E402, F401 - registers `verify`
from citywitness.cli import witness as _witness_command  # noqa: E402, F401 - `witness`
from citywitness.cli import worker as _worker_command  # noqa: E402, F401 - registers `worker`
