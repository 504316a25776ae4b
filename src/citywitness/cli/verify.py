"""`citywitness verify package.zip [--trust FILE...] [--json]`: the offline verifier.

Needs no server, no database and no settings: everything it checks is in the package and
in the trust files.  Exit status: 0 when every check holds, 1 when any fails (the failing
file and check are named), 2 when a trust file cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from citywitness.cli.core import app
from citywitness.ledger.verify_package import verify_package
from citywitness.ledger.verify_trust import Report, Trust, TrustFileError

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)
STYLE = {
    "ok": "[green]ok[/green]",
    "fail": "[bold red]FAIL[/bold red]",
    "warn": "[yellow]warn[/yellow]",
}


def _table(report: Report, show_all: bool) -> Table:
    table = Table(title=f"Package {escape(report.package)}", expand=False)
    table.add_column("check")
    table.add_column("subject", overflow="fold")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        if show_all or check.status != "ok" or check.check not in ("file hash", "leaf"):
            table.add_row(
                escape(check.check),
                escape(check.subject),
                STYLE[check.status],
                escape(check.detail),
            )
    return table


@app.command("verify")
def verify(
    package: Annotated[Path, typer.Argument(help="The export package (zip).", exists=True)],
    *,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            help="A file with verifier keys (log, witnesses) or PEM certificates (C2PA "
            "root, TSA roots) obtained independently of the package; repeatable.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every passing file and leaf check too.")
    ] = False,
) -> None:
    """Verify an export package offline: hashes, proofs, signatures, time stamps, C2PA."""
    try:
        anchors = Trust.from_files(list(trust or []))
    except (TrustFileError, OSError) as exc:
        stderr.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    report = verify_package(package, anchors)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        stdout.print(_table(report, show_all))
        counts = {s: sum(c.status == s for c in report.checks) for s in ("ok", "warn", "fail")}
        stdout.print(
            f"{counts['ok']} checks passed, {counts['warn']} warnings, {counts['fail']} failed"
        )
    if not report.ok:
        for check in report.failures():
            stderr.print(
                f"[red]FAILED[/red] {escape(check.check)}: {escape(check.subject)}: "
                f"{escape(check.detail)}"
            )
        raise typer.Exit(1)
    if as_json:
        return
    stdout.print("[green]VERIFIED[/green]: every check holds.")
