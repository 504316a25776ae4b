"""`citywitness worker`: run background jobs apart from the API."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from citywitness.cli.core import app, console, settings_from
from citywitness.kit.jobs import Queue


@app.command("worker")
def worker(
    ctx: typer.Context,
    queue: Annotated[
        list[Queue] | None,
        typer.Option(
            "--queue",
            "-q",
            help="Queue to serve (repeat for several); default: settings.jobs.queues.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            max=64,
            help="Jobs run at once; default: settings.jobs.concurrency.",
        ),
    ] = None,
) -> None:
    """Run a job worker until SIGINT/SIGTERM (running jobs get a graceful timeout)."""
    from citywitness.analysis.errors import AnalysisMisconfigured  # noqa: PLC0415
    from citywitness.analysis.pipeline import configured  # noqa: PLC0415
    from citywitness.kit.logs import configure_logging  # noqa: PLC0415 - keep `--help` fast
    from citywitness.runtime import database_url  # noqa: PLC0415
    from citywitness.worker import WorkerStopped, work  # noqa: PLC0415

    settings = settings_from(ctx)
    configure_logging(settings.logging.level, settings.logging.json_output)
    try:
        configured(settings.analysis)  # analyzer configs checked, ONNX runtime set
    except AnalysisMisconfigured as exc:
        console.print(f"[red]configuration error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from exc
    queues = [q.value for q in queue] if queue else None
    with database_url(settings) as url:
        try:
            asyncio.run(work(settings, url, queues=queues, concurrency=concurrency))
        except WorkerStopped as exc:
            console.print(f"[red]worker stopped:[/red] {exc}")
            raise typer.Exit(1) from exc
