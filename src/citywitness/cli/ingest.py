"""`citywitness ingest PATH... --officer BADGE --device SERIAL --category NAME`: dock imports.

Runs in-process against the database and the content store (no HTTP), through the same
`register_object` as every ingest path (channel DOCK).  Exit status: 0 when every file was
ingested, was a duplicate or was done by an earlier run; 1 when any file failed; 2 for
bad options (unknown officer or category).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from citywitness.cli.core import app, settings_from
from citywitness.evidence.dock import (
    DockImporter,
    FileResult,
    ImportState,
    collect,
    resolve_source,
    state_file,
    summary,
)
from citywitness.evidence.runtime import store_for
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError
from citywitness.runtime import database_url
from citywitness.settings import Settings

stderr = Console(stderr=True)
STATUS_STYLE = {"ingested": "green", "duplicate": "yellow", "done earlier": "cyan", "failed": "red"}


class BadOptions(Exception):
    """An option names something that does not exist: exit 2, nothing imported."""


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (recursively).")],
    *,
    officer: Annotated[str, typer.Option("--officer", help="Badge number of the wearer.")],
    device: Annotated[str, typer.Option("--device", help="Serial number of the recorder.")],
    category: Annotated[str, typer.Option("--category", help="Evidence category code or name.")],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag; repeatable.")] = None,
    notes: Annotated[str, typer.Option("--notes", help="Notes for every file.")] = "",
) -> None:
    """Import recordings from a dock or collection station (resumable; duplicates skipped)."""
    settings = settings_from(ctx)
    try:
        with database_url(settings) as url:
            results = asyncio.run(
                _import(settings, url, paths, officer, device, category, tuple(tag or ()), notes)
            )
    except BadOptions as exc:
        stderr.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    _print_table(results)
    counts = summary(results)
    line = ", ".join(f"{counts[s]} {s}" for s in STATUS_STYLE if s in counts)
    stderr.print(line or "no files")
    if any(r.failed for r in results):
        raise typer.Exit(1)


async def _import(  # noqa: PLR0917 - the command's options, private
    settings: Settings,
    url: str,
    paths: list[Path],
    officer: str,
    device: str,
    category: str,
    tags: tuple[str, ...],
    notes: str,
) -> list[FileResult]:
    db = Database(url, pool_size=2, max_overflow=0)
    try:
        try:
            source = await resolve_source(
                db,
                officer_badge=officer,
                recorder_serial=device,
                category=category,
                tags=tags,
                notes=notes,
            )
        except AppError as exc:
            fields = "; ".join(str(v) for v in (exc.fields or {}).values())
            raise BadOptions(f"{exc.code}: {fields or exc.detail}") from exc
        files, results = collect(paths)
        state = ImportState.load(state_file(settings.data_dir, paths, source))
        importer = DockImporter(db, store_for(settings, db), source, state)
        with _progress() as progress:
            total = sum(f.stat().st_size for f in files)
            task = progress.add_task("ingest", total=total, name="")
            try:
                for path in files:
                    progress.update(task, name=path.name[:40])
                    results.append(
                        await importer.ingest_file(path, lambda n: progress.update(task, advance=n))
                    )
            finally:  # also on Ctrl-C: the next run skips what is done
                importer.save_state()
        return results
    finally:
        await db.dispose()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.fields[name]}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    )


def _printable(text: str) -> str:
    """A file name as shown: control characters (and undecodable bytes) escaped."""
    return "".join(c if c.isprintable() else f"\\x{ord(c) & 0xFF:02x}" for c in text)


def _print_table(results: list[FileResult]) -> None:
    table = Table(title="ingest results")
    for column in ("file", "result", "bytes", "evidence id", "detail"):
        table.add_column(column, overflow="fold")
    for result in results:
        style = STATUS_STYLE.get(result.status, "")
        table.add_row(
            escape(_printable(str(result.path))),
            f"[{style}]{result.status}[/{style}]",
            str(result.size),
            str(result.evidence_id or ""),
            escape(result.detail),
        )
    Console(soft_wrap=True).print(table)
