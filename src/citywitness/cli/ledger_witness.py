"""`citywitness ledger witness add|list` and `citywitness ledger incidents list|ack`.

For operators with access to the database: each command is one transaction through the
ledger's services, audited with actor kind `cli`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.audit.service import Auditor
from citywitness.cli.core import settings_from
from citywitness.cli.ledger import ledger_app
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError
from citywitness.runtime import database_url
from citywitness.settings import Settings

witness_admin = typer.Typer(help="Witnesses allowed to cosign checkpoints.", no_args_is_help=True)
incidents_app = typer.Typer(help="Ledger incidents (forks).", no_args_is_help=True)
ledger_app.add_typer(witness_admin, name="witness")
ledger_app.add_typer(incidents_app, name="incidents")

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")
Work = Callable[[AsyncSession, Auditor], Awaitable[T]]


def _run(settings: Settings, work: Work[T]) -> T:
    try:
        with database_url(settings) as url:
            return asyncio.run(_in_transaction(url, work))
    except AppError as exc:
        stderr.print(f"[red]error:[/red] {escape(str(exc.detail))}")
        raise typer.Exit(1) from exc


async def _in_transaction(url: str, work: Work[T]) -> T:
    db = Database(url, pool_size=1, max_overflow=0)
    try:
        async with db.transaction() as session:
            return await work(session, Auditor(session, None, actor_kind="cli"))
    finally:
        await db.dispose()


@witness_admin.command("add")
def witness_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The witness's key name.")],
    vkey: Annotated[
        str, typer.Argument(help="Its cosignature vkey (`citywitness witness keygen`).")
    ],
) -> None:
    """Register a witness: its cosignatures on this log's checkpoints are then accepted."""
    from citywitness.ledger.witness_service import add_witness  # noqa: PLC0415

    async def work(session: AsyncSession, auditor: Auditor) -> uuid.UUID:
        witness = await add_witness(session, name=name, vkey=vkey, created_by=None, auditor=auditor)
        return witness.id

    witness_id = _run(settings_from(ctx), work)
    stdout.print(f"witness {escape(name)} registered ({witness_id})")


@witness_admin.command("list")
def witness_list(ctx: typer.Context) -> None:
    """List the registered witnesses and their keys."""
    from citywitness.ledger.witness_service import list_witnesses  # noqa: PLC0415

    async def work(session: AsyncSession, _auditor: Auditor) -> list[tuple[str, str, str]]:
        found = await list_witnesses(session)
        return [(w.name, w.vkey, w.created_at.isoformat(timespec="seconds")) for w in found]

    table = Table("name", "vkey", "registered")
    for row in _run(settings_from(ctx), work):
        table.add_row(*(escape(cell) for cell in row))
    stdout.print(table)


@incidents_app.command("list")
def incidents_list(ctx: typer.Context) -> None:
    """List ledger incidents, newest first (unacknowledged ones fail /readyz)."""
    from citywitness.ledger.witness_forks import list_incidents  # noqa: PLC0415

    async def work(session: AsyncSession, _auditor: Auditor) -> list[tuple[str, ...]]:
        return [
            (
                str(incident.id),
                incident.severity,
                incident.detected_at.isoformat(timespec="seconds"),
                incident.summary,
                "yes" if ack else "no",
            )
            for incident, ack in await list_incidents(session)
        ]

    table = Table("id", "severity", "detected", "summary", "acknowledged")
    for row in _run(settings_from(ctx), work):
        table.add_row(*(escape(cell) for cell in row))
    stdout.print(table)


@incidents_app.command("ack")
def incidents_ack(
    ctx: typer.Context,
    incident_id: Annotated[uuid.UUID, typer.Argument(help="The incident's id.")],
    note: Annotated[str, typer.Option("--note", help="What was found and done.")],
) -> None:
    """Acknowledge an incident after looking into it (it stays recorded for good)."""
    from citywitness.ledger.witness_forks import acknowledge_incident  # noqa: PLC0415

    async def work(session: AsyncSession, auditor: Auditor) -> None:
        await acknowledge_incident(session, None, incident_id, note=note, auditor=auditor)

    _run(settings_from(ctx), work)
    stdout.print(f"incident {incident_id} acknowledged")
