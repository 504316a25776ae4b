"""`citywitness models list|verify` and `citywitness analyze KIND FILE...`, offline.

No server and no database: `models` checks the model files that the installed analyzers
declare (package, SHA-256, license); `analyze` runs one analyzer on files with the
analyzer's config from the settings (its defaults when the settings give none) and an
optional watch list read from files.  Exit status: 0 when everything is fine, 1 when a
model is missing or altered (`verify`) or a file could not be analysed (`analyze`), 2 for
bad arguments (an unknown kind, an unreadable watch list, a model that cannot load).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from citywitness.analysis import contracts, modelzoo, pipeline
from citywitness.analysis.contracts import Analyzer
from citywitness.analysis.media_source import MediaSource, MediaUnreadable
from citywitness.cli.core import app, settings_from

models_app = typer.Typer(help="AI models shipped in the installed packages.", no_args_is_help=True)
app.add_typer(models_app, name="models")

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _models() -> list[dict[str, str]]:
    pipeline.load_analyzers()
    return [
        {
            "name": spec.name,
            "task": spec.task,
            "package": spec.package,
            "version": spec.version,
            "license": spec.license,
            "sha256": spec.sha256,
            "status": pipeline.model_status(spec),
        }
        for spec in modelzoo.catalog()
    ]


@models_app.command("list")
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Every model the installed analyzers use, with its package, license and status."""
    rows = _models()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(expand=False)
    for column in ("name", "task", "package", "version", "license", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            *(escape(row[c]) for c in ("name", "task", "package", "version", "license")),
            row["status"],
        )
    stdout.print(table)


@models_app.command("verify")
def models_verify() -> None:
    """Hash every model file; exit 1 when any is missing or altered."""
    rows = _models()
    bad = [row for row in rows if row["status"] != "ok"]
    for row in bad:
        stderr.print(f"[red]{row['status']}:[/red] {escape(row['name'])} ({row['package']})")
    if bad:
        raise typer.Exit(1)
    stdout.print(f"{len(rows)} models verified")


def _analyzer(ctx: typer.Context, kind: str, watchlist: Path | None) -> Analyzer:
    pipeline.load_analyzers()
    known = contracts.registered()
    if kind not in known:
        raise typer.BadParameter(f"use one of {', '.join(known)}", param_hint="KIND")
    config = pipeline.config_for(kind, settings_from(ctx).analysis)
    listed: Any | None = None
    if watchlist is not None:
        loader = contracts.watchlist_from_path(kind)
        if loader is None:
            raise typer.BadParameter(f"{kind} takes no watch list", param_hint="--watchlist")
        try:
            listed = loader(watchlist)
        except (ValueError, OSError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--watchlist") from exc
    try:
        return contracts.build(config, watchlist=listed)
    except modelzoo.ModelUnavailable as exc:
        stderr.print(f"[red]model unavailable:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc


def _one(analyzer: Analyzer, file: Path) -> dict[str, Any]:
    if not file.is_file():
        return {"file": str(file), "error": {"code": "file_not_found", "detail": "no such file"}}
    try:
        found = list(analyzer.analyze(MediaSource(file)))
    except MediaUnreadable as exc:
        return {"file": str(file), "error": {"code": "media_unreadable", "detail": str(exc)}}
    except modelzoo.ModelUnavailable as exc:
        return {"file": str(file), "error": {"code": "model_unavailable", "detail": str(exc)}}
    return {"file": str(file), "findings": [f.as_dict() for f in found]}


def _print(result: dict[str, Any]) -> None:
    if "error" in result:
        stdout.print(f"{escape(result['file'])}: [red]{escape(result['error']['detail'])}[/red]")
        return
    stdout.print(f"{escape(result['file'])}: {len(result['findings'])} findings")
    for f in result["findings"]:
        text = f["attributes"].get("text")
        shown = f" {text!r}" if isinstance(text, str) else ""
        alert = f"  ALERT {f['alert']['kind']}" if f["alert"] else ""
        stdout.print(
            f"  {f['offset_s']:8.2f}s  {escape(f['label'])}{escape(shown)}"
            f"  ({f['confidence']:.2f}){alert}"
        )


@app.command("analyze")
def analyze(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="plates, faces, speech or behaviour.")],
    files: Annotated[list[Path], typer.Argument(help="Video, audio or image files.")],
    *,
    watchlist: Annotated[
        Path | None,
        typer.Option(help="Watch list: a plates CSV file or folder, a faces folder."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Run one analyzer on FILES: one result per file (findings, or the file's error)."""
    analyzer = _analyzer(ctx, kind, watchlist)
    results = [_one(analyzer, file) for file in files]
    if as_json:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for result in results:
            _print(result)
    if any("error" in r for r in results):
        raise typer.Exit(1)
