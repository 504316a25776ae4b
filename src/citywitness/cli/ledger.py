"""`citywitness ledger`: the custody log's verifier key, a sequencing run, and `verify`, which
recomputes the whole live log from its leaves against every signed checkpoint.

Exit status of `verify`: 0 when everything holds, 1 naming the first failing leaf index or
checkpoint.
"""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from citywitness.audit.service import Auditor
from citywitness.cli.core import app, settings_from
from citywitness.kit.db import Database
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.recompute import Report, verify_log
from citywitness.ledger.sequencer import sequence_all
from citywitness.runtime import database_url
from citywitness.settings import Settings

ledger_app = typer.Typer(help="The custody ledger (Merkle log).", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


@ledger_app.command("key")
def ledger_key(ctx: typer.Context) -> None:
    """Print the log's verifier key (<origin>+<key id>+<key>), for witnesses and verifiers."""
    typer.echo(log_vkey(settings_from(ctx)))


async def _sequence(settings: Settings, url: str) -> int:
    db = Database(url, pool_size=1, max_overflow=0)
    try:
        return await sequence_all(db, settings)
    finally:
        await db.dispose()


@ledger_app.command("sequence")
def ledger_sequence(ctx: typer.Context) -> None:
    """Sequence the waiting entries now and sign a checkpoint (workers do this every second)."""
    settings = settings_from(ctx)
    with database_url(settings) as url:
        added = asyncio.run(_sequence(settings, url))
    typer.echo(f"sequenced {added} entries")


async def _verify(settings: Settings, url: str) -> Report:
    db = Database(url, pool_size=1, max_overflow=0)
    columns = (
        TextColumn("[bold]leaves"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=stderr, transient=True) as progress:
            task = progress.add_task("leaves", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            async with db.transaction() as session:
                report = await verify_log(session, log_vkey(settings), advance)
        async with db.transaction() as session:
            await Auditor(session=session, actor=None, actor_kind="cli").record(
                "ledger.verify",
                details={
                    "leaves": report.leaves,
                    "checkpoints": report.checkpoints,
                    "ok": report.ok,
                },
            )
        return report
    finally:
        await db.dispose()


@ledger_app.command("verify")
def ledger_verify(ctx: typer.Context) -> None:
    """Recompute every leaf hash, the tree and every checkpoint's root and signature."""
    settings = settings_from(ctx)
    with database_url(settings) as url:
        report = asyncio.run(_verify(settings, url))
    summary = (
        f"{report.leaves} leaves, {report.tree_hashes} tree hashes, "
        f"{report.checkpoints} checkpoints"
    )
    if not report.ok:
        for failure in report.failures:
            stdout.print(f"[red]FAILED[/red] {escape(failure)}")
        stdout.print(f"checked before the failure: {summary}")
        raise typer.Exit(1)
    stdout.print(f"[green]ok[/green] {summary}: every hash, root and signature holds")
