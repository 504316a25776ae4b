"""`citywitness storage check`: re-hash every stored object and report what is wrong.

Walks the live objects in SHA-256 order through `ContentStore` (re-decrypting and
re-hashing each one), with a progress bar and an optional rate limit.  Progress is saved
in `<data dir>/storage-check.json` every batch, so an interrupted pass continues with
`--resume`; a finished pass removes it.  After a full pass it also reports orphans:
blobs no key record owns, and stored objects no evidence item (or derivative) references.
Exit status: 0 when nothing is wrong, 1 when anything is.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

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

from citywitness.analysis.references import referenced_shas as analysis_shas
from citywitness.audit.service import Auditor
from citywitness.cli.core import app, settings_from
from citywitness.evidence.ingest import referenced_shas
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.media.seal import referenced_shas as live_segment_shas
from citywitness.runtime import database_url
from citywitness.settings import Settings
from citywitness.storage.factory import build_content_store
from citywitness.storage.scrub import (
    CheckIssue,
    CheckProgress,
    check,
    find_orphans,
    find_unreferenced,
)
from citywitness.storage.store import ContentStore

storage_app = typer.Typer(help="Evidence storage: integrity scrub.", no_args_is_help=True)
app.add_typer(storage_app, name="storage")

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

STATE_FILE = "storage-check.json"
BATCH = 100


@dataclass
class ScrubState:
    """A pass in progress: where it is and what it found so far."""

    cursor: str | None = None
    objects: int = 0
    bytes: int = 0
    issues: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: utcnow().isoformat())

    @classmethod
    def load(cls, path: Path) -> ScrubState:
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(asdict(self), out)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)


def referenced_by(db: Database) -> Any:
    """The evidence side of the scrub: which SHA-256s a live item, derivative or package uses."""

    async def is_referenced(shas: Sequence[str]) -> set[str]:
        async with db.transaction() as session:
            found = await referenced_shas(session, shas)
            found |= await analysis_shas(session, shas)  # alert snapshots, redacted videos
            return found | await live_segment_shas(session, list(shas))  # unsealed sessions

    return is_referenced


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]checking[/bold] {task.fields[objects]} objects"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=False,
    )


async def _scan(
    store: ContentStore, state: ScrubState, path: Path, *, rate: int | None, limit: int | None
) -> bool:
    """Check objects after the saved cursor; True once the pass reached the end."""
    usage = await store.usage()
    base_objects, base_bytes = state.objects, state.bytes
    with _progress() as bar:
        task = bar.add_task("check", total=max(usage.bytes, 1), objects=state.objects)

        def show(done: CheckProgress) -> None:
            bar.update(task, completed=base_bytes + done.bytes, objects=base_objects + done.objects)

        checked = 0
        while limit is None or checked < limit:
            step = BATCH if limit is None else min(BATCH, limit - checked)
            report = await check(
                store,
                cursor=state.cursor,
                max_objects=step,
                rate_bytes_per_second=rate,
                progress=show,
                orphans=False,
            )
            base_objects, base_bytes = base_objects + report.objects, base_bytes + report.bytes
            checked += report.objects
            state.cursor = report.cursor
            state.objects, state.bytes = base_objects, base_bytes
            state.issues.extend(asdict(issue) for issue in report.issues)
            state.save(path)
            if report.complete:
                return True
    return False


async def _orphans(store: ContentStore, db: Database, grace: timedelta) -> list[CheckIssue]:
    cutoff = utcnow() - grace
    issues = []
    for name, sha in await find_orphans(store, cutoff):
        if sha is None:
            issues.append(CheckIssue("stray", None, "a file this store did not write", name))
        else:
            issues.append(CheckIssue("orphan", sha, "bytes no live key record owns", name))
    for record in await find_unreferenced(store, referenced_by(db), cutoff):
        issues.append(
            CheckIssue("unreferenced", record.sha256, "stored, but no evidence item uses it")
        )
    return issues


async def _run_check(
    settings: Settings,
    url: str,
    *,
    resume: bool,
    rate: int | None,
    limit: int | None,
    grace: timedelta,
) -> tuple[ScrubState, bool]:
    path = settings.data_dir / STATE_FILE
    state = ScrubState.load(path) if resume and path.exists() else ScrubState()
    db = Database(url, pool_size=2, max_overflow=0)
    try:
        store = build_content_store(settings, db)
        complete = await _scan(store, state, path, rate=rate, limit=limit)
        if complete:
            state.issues.extend(asdict(issue) for issue in await _orphans(store, db, grace))
            path.unlink(missing_ok=True)
        async with db.transaction() as session:
            await Auditor(session=session, actor=None, actor_kind="cli").record(
                "storage.check",
                details={
                    "objects": state.objects,
                    "bytes": state.bytes,
                    "issues": len(state.issues),
                    "complete": complete,
                    "resumed": resume,
                },
            )
    finally:
        await db.dispose()
    return state, complete


def _print_report(state: ScrubState, complete: bool) -> None:
    if state.issues:
        table = Table("problem", "sha256", "detail", title="storage problems")
        for issue in state.issues:
            table.add_row(
                issue["kind"], issue["sha256"] or issue["name"] or "", escape(issue["detail"])
            )
        stdout.print(table)
    verdict = f"{len(state.issues)} problem(s)" if state.issues else "no problems"
    stdout.print(f"checked {state.objects} objects, {state.bytes} bytes: {verdict}")
    if not complete:
        stdout.print("pass not finished: continue with `citywitness storage check --resume`")


@storage_app.command("check")
def storage_check(
    ctx: typer.Context,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the last unfinished pass.")
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option("--rate", min=0.01, help="Read at most this many MB (10^6 bytes) a second."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Stop after this many objects (resume later)."),
    ] = None,
    grace_hours: Annotated[
        float,
        typer.Option(
            "--grace-hours", min=0, help="Ignore orphans younger than this (in-flight writes)."
        ),
    ] = 24.0,
) -> None:
    """Re-hash stored evidence objects; report corrupt, missing and orphaned ones."""
    settings = settings_from(ctx)
    rate_bytes = int(rate * 1_000_000) if rate is not None else None
    with database_url(settings) as url:
        state, complete = asyncio.run(
            _run_check(
                settings,
                url,
                resume=resume,
                rate=rate_bytes,
                limit=limit,
                grace=timedelta(hours=grace_hours),
            )
        )
    _print_report(state, complete)
    if state.issues:
        raise typer.Exit(1)
