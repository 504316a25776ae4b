"""`citywitness export (--items ID... | search filters) -o package.zip --as USERNAME --reason TEXT`.

The items are given by id (`--items`, repeatable) or found by a search: `--query TEXT` (full
text over tags and notes) and the other filters of GET /api/v1/evidence (`--department`,
`--tag`, `--captured-from`...), validated exactly as the API validates them
(`exports_schemas.ExportQuery`); every item the search finds must be exportable, and at most
`exports.max_items` are.

Runs in-process against the database and the content store, as the named user: their
`evidence:export` permission and scope decide what may be exported (an item outside it is
"not found"), and the export is audited and recorded in the ledger under their id.  Exit
status: 0 with the package written, 1 when the export was refused or failed, 2 for bad
options.  Verify the result with `citywitness verify`.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from citywitness.audit.service import Auditor
from citywitness.cli.core import app, settings_from
from citywitness.evidence.exports import export_items
from citywitness.evidence.exports_schemas import ExportQuery
from citywitness.evidence.exports_service import ExportTooLarge, resolve_query
from citywitness.evidence.runtime import store_for
from citywitness.identity import service as identity
from citywitness.identity.principals import load_principal
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError
from citywitness.ledger.export_writer import PackageSummary
from citywitness.runtime import database_url
from citywitness.settings import Settings

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class _Refused(Exception):
    pass


async def _export(  # noqa: PLR0917 - the command's options, private
    settings: Settings,
    url: str,
    username: str,
    selection: list[uuid.UUID] | ExportQuery,
    reason: str,
    output: Path,
    derivatives: bool,
) -> tuple[PackageSummary, int]:
    db = Database(url, pool_size=2, max_overflow=0)
    try:
        async with db.transaction() as session:
            user = await identity.get_user_by_username(session, username)
            if user is None or not user.is_active:
                raise _Refused(f"no active user named {username!r}")
            principal = await load_principal(session, user, auth_method="cli")
            if isinstance(selection, list):
                ids = selection
            else:
                auditor = Auditor(session=session, actor=principal, actor_kind="user")
                ids = await resolve_query(
                    session, principal, auditor, selection, max_items=settings.exports.max_items
                )
        if not ids:
            raise _Refused("the search found nothing to export")
        if len(ids) > settings.exports.max_items:
            raise ExportTooLarge(f"at most {settings.exports.max_items} items")
        summary = await export_items(
            db,
            settings,
            store_for(settings, db),
            principal,
            username=username,
            item_ids=list(ids),
            reason=reason,
            output=output,
            derivatives=derivatives,
        )
        return summary, len(ids)
    finally:
        await db.dispose()


def _option(name: str, text: str) -> Any:
    return typer.Option(name, help=text, rich_help_panel="Search (instead of --items)")


def _selection(items: list[str] | None, filters: dict[str, Any]) -> list[uuid.UUID] | ExportQuery:
    """The item ids, or the search the filters describe (bad values: exit 2)."""
    given = {k: v for k, v in filters.items() if v not in (None, [])}
    if bool(items) == bool(given):
        stderr.print("[red]error:[/red] give --items, or search filters (--query, --tag, ...)")
        raise typer.Exit(2)
    try:
        if items:
            return [uuid.UUID(value) for value in items]
        near = given.pop("near", None)
        if near is not None:
            given["lat"], given["lon"], given["radius_m"] = near.split(",")
        query = ExportQuery.model_validate(given)
        query.filters()
    except (ValueError, ValidationError, AppError) as exc:
        detail = exc.fields if isinstance(exc, AppError) else str(exc)
        stderr.print(f"[red]error:[/red] {escape(str(detail))}")
        raise typer.Exit(2) from exc
    return query


@app.command("export")
def export(
    ctx: typer.Context,
    *,
    output: Annotated[Path, typer.Option("--output", "-o", help="The package to write (zip).")],
    as_user: Annotated[str, typer.Option("--as", help="Username of the exporting user.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded; required).")],
    items: Annotated[
        list[str] | None, typer.Option("--items", help="Evidence item id; repeatable.")
    ] = None,
    derivatives: Annotated[
        bool, typer.Option("--derivatives", help="Also export proxies and thumbnails.")
    ] = False,
    query: Annotated[str | None, _option("--query", "Full text over tags and notes.")] = None,
    department: Annotated[str | None, _option("--department", "Department id.")] = None,
    officer: Annotated[str | None, _option("--officer", "Officer id.")] = None,
    recorder: Annotated[str | None, _option("--recorder", "Recorder serial.")] = None,
    category: Annotated[str | None, _option("--category", "Category code.")] = None,
    tag: Annotated[list[str] | None, _option("--tag", "A tag the items all carry.")] = None,
    classification: Annotated[
        str | None, _option("--classification", "public, internal, sensitive or secret.")
    ] = None,
    kind: Annotated[str | None, _option("--kind", "video, audio, photo or document.")] = None,
    captured_from: Annotated[
        str | None, _option("--captured-from", "Captured at or after (ISO 8601 with zone).")
    ] = None,
    captured_to: Annotated[
        str | None, _option("--captured-to", "Captured at or before (ISO 8601 with zone).")
    ] = None,
    bbox: Annotated[
        str | None, _option("--bbox", "Bounding box min_lon,min_lat,max_lon,max_lat.")
    ] = None,
    near: Annotated[str | None, _option("--near", "A circle: lat,lon,radius_m.")] = None,
) -> None:
    """Export evidence items as a court package that `citywitness verify` checks offline."""
    filters = {
        "q": query,
        "department_id": department,
        "officer_id": officer,
        "recorder_serial": recorder,
        "category": category,
        "tag": tag,
        "classification": classification,
        "kind": kind,
        "captured_from": captured_from,
        "captured_to": captured_to,
        "bbox": bbox,
        "near": near,
    }
    selection = _selection(items, filters)
    settings = settings_from(ctx)
    try:
        with database_url(settings) as url:
            summary, count = asyncio.run(
                _export(settings, url, as_user, selection, reason, output.absolute(), derivatives)
            )
    except (_Refused, AppError) as exc:
        detail = exc.detail if isinstance(exc, AppError) else str(exc)
        stderr.print(f"[red]export refused:[/red] {escape(str(detail))}")
        raise typer.Exit(1) from exc
    stdout.print(
        f"wrote {escape(str(summary.path))}: {count} item(s), {summary.size} bytes, "
        f"sha256 {summary.sha256}"
    )
