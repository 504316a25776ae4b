"""Export packages requested over the API: request, read, list, download, discard.

A request is checked and recorded in the caller's transaction: evidence:export on every
item (an item outside the caller's scope is 404), the export row with its fixed item list,
an audit event and an `evidence.exported` ledger entry per item (`exports.record_export`),
and the build job (`exports_tasks.build_export`), deferred in that same transaction.  The
job writes the package and stores it encrypted in the content store (`exports_build`).

Only the requester sees an export (platform admins too); to anyone else it does not exist
(404).  Every download is audited; discarding crypto-shreds the stored package.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import require
from citywitness.audit.service import Auditor
from citywitness.evidence import search
from citywitness.evidence.export_models import Export, ExportedItem, ExportStatus
from citywitness.evidence.exports import ExportReasonRequired, record_export
from citywitness.evidence.exports_build import shred_package
from citywitness.evidence.exports_schemas import ExportQuery
from citywitness.evidence.exports_tasks import defer_build
from citywitness.evidence.playback import parse_range
from citywitness.kit.clock import utcnow
from citywitness.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from citywitness.kit.errors import AppError, Conflict, ValidationFailed
from citywitness.storage import ContentStore

P = Permission
EXPORT = "evidence_export"
SEARCH_PAGE = 500


class ExportTooLarge(ValidationFailed):
    """More items than one export may hold (exports.max_items)."""

    code = "export_too_large"


class ExportNotReady(Conflict):
    """The package is not built yet (queued or running), or the build failed."""

    code = "export_not_ready"


class ExportRunning(Conflict):
    """The package is being built; discard it once it is done."""

    code = "export_running"


class ExportGone(AppError):
    """The package was discarded or has expired."""

    code = "export_gone"
    status = 410


@dataclass(frozen=True)
class ExportRequest:
    reason: str
    items: Sequence[uuid.UUID] | None = None
    query: ExportQuery | None = None
    derivatives: bool = False


async def resolve_query(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    query: ExportQuery,
    *,
    max_items: int,
) -> list[uuid.UUID]:
    """The ids a search finds, newest first, through `search.search_items` (audited as a
    search); ExportTooLarge past `max_items`."""
    filters = query.filters()
    found: list[uuid.UUID] = []
    cursor: str | None = None
    while True:
        page, cursor = await search.search_items(
            session, principal, auditor, filters, cursor=cursor, limit=SEARCH_PAGE
        )
        found.extend(item.id for item in page)
        if len(found) > max_items:
            raise ExportTooLarge(fields={"query": f"matches more than {max_items} items"})
        if cursor is None:
            return found


async def request_export(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    request: ExportRequest,
    *,
    max_items: int,
) -> Export:
    """Check and record an export, and queue its build (see the module doc)."""
    require(principal, P.EVIDENCE_EXPORT, action="evidence.export")
    if not request.reason.strip():
        raise ExportReasonRequired(fields={"reason": "a reason is required"})
    if request.query is not None:
        ids = await resolve_query(session, principal, auditor, request.query, max_items=max_items)
    else:
        ids = list(dict.fromkeys(request.items or []))
    if len(ids) > max_items:
        raise ExportTooLarge(fields={"items": f"at most {max_items} items"})
    export_id = uuid.uuid4()
    items = await record_export(
        session, principal, auditor, item_ids=ids, reason=request.reason, export_id=str(export_id)
    )
    export = Export(
        id=export_id,
        requested_by=principal.user_id,
        reason=request.reason.strip(),
        derivatives=request.derivatives,
        query=request.query.recorded() if request.query is not None else None,
        item_count=len(items),
        status=ExportStatus.QUEUED,
        attempts=0,
    )
    session.add(export)
    await session.flush()
    session.add_all(
        ExportedItem(export_id=export_id, position=n, evidence_id=item.id)
        for n, item in enumerate(items)
    )
    export.job_id = await defer_build(session, export_id)
    await session.flush()
    await session.refresh(export)
    return export


def _not_visible(export_id: uuid.UUID, action: str) -> ObjectNotVisible:
    err = ObjectNotVisible("no such export")
    err.refusing(action, EXPORT, str(export_id))
    return err


async def visible_export(
    session: AsyncSession,
    principal: Principal,
    export_id: uuid.UUID,
    *,
    action: str = "evidence.export.read",
    for_update: bool = False,
) -> Export:
    """The export if the caller requested it (or is a platform admin); 404 otherwise."""
    require(principal, P.EVIDENCE_EXPORT, action=action)
    export = await session.get(Export, export_id, with_for_update=for_update)
    if export is None:
        raise _not_visible(export_id, action)
    if export.requested_by != principal.user_id and not principal.is_platform_admin:
        raise _not_visible(export_id, action)
    return export


async def export_items(session: AsyncSession, export_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(ExportedItem.evidence_id)
        .where(ExportedItem.export_id == export_id)
        .order_by(ExportedItem.position)
    )
    return list(rows)


def _cursor(export: Export) -> str:
    return encode_cursor([export.created_at.isoformat(), str(export.id)])


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    when, export_id = decode_cursor(cursor, 2)
    try:
        moment, found = datetime.fromisoformat(when), uuid.UUID(export_id)
    except ValueError as exc:
        raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
    if moment.tzinfo is None:
        raise InvalidCursor(fields={"cursor": "not a cursor"})
    return moment, found


async def list_exports(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[Export], str | None]:
    """The caller's own exports, newest first (keyset pages)."""
    require(principal, P.EVIDENCE_EXPORT, action="evidence.export.list")
    statement = select(Export).where(Export.requested_by == principal.user_id)
    if cursor is not None:
        statement = statement.where(tuple_(Export.created_at, Export.id) < tuple_(*_after(cursor)))
    rows = await session.scalars(
        statement.order_by(Export.created_at.desc(), Export.id.desc()).limit(limit + 1)
    )
    found = list(rows)
    if len(found) <= limit:
        return found, None
    return found[:limit], _cursor(found[limit - 1])


def _ensure_downloadable(export: Export) -> tuple[str, int]:
    if export.status in (ExportStatus.DISCARDED, ExportStatus.EXPIRED):
        raise ExportGone(fields={"status": export.status})
    if export.expires_at is not None and export.expires_at <= utcnow():
        raise ExportGone(fields={"status": "expired"})
    if export.status != ExportStatus.DONE:
        raise ExportNotReady(fields={"status": export.status, "error": export.error_code})
    if export.package_sha256 is None or export.package_size is None:
        raise ExportNotReady(fields={"status": export.status})
    return export.package_sha256, export.package_size


@dataclass(frozen=True)
class PackageContent:
    """Bytes [start, end) of the stored package, the status and headers to send."""

    sha256: str
    start: int
    end: int
    status: int
    headers: dict[str, str] = field(default_factory=dict)


def _headers(export: Export, sha: str, size: int, span: tuple[int, int] | None) -> dict[str, str]:
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Type": "application/zip",
        "Content-Disposition": f'attachment; filename="citywitness-export-{export.id}.zip"',
        "ETag": f'"{sha}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if span is None:
        digest = base64.b64encode(bytes.fromhex(sha)).decode()
        headers["Repr-Digest"] = f"sha-256=:{digest}:"
    else:
        headers["Content-Range"] = f"bytes {span[0]}-{span[1] - 1}/{size}"
    return headers


async def open_package(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    store: ContentStore,
    export_id: uuid.UUID,
    *,
    range_header: str | None = None,
    if_range: str | None = None,
) -> PackageContent:
    """What to send for a download of the package (one `bytes=` range at most); audited."""
    action = "evidence.export.download"
    export = await visible_export(session, principal, export_id, action=action)
    sha, size = _ensure_downloadable(export)
    if not await store.exists(sha):  # shredded outside the export's life (a storage sweep)
        raise ExportGone(fields={"status": "package destroyed"})
    if if_range is not None and if_range.strip() != f'"{sha}"':
        range_header = None
    span = parse_range(range_header, size, size)
    start, end = span if span is not None else (0, size)
    details: dict[str, Any] = {"package_sha256": sha, "bytes": end - start}
    details["range"] = f"{start}-{end - 1}" if span is not None else None
    await auditor.record(action, object_type=EXPORT, object_id=export.id, details=details)
    status = 206 if span is not None else 200
    return PackageContent(sha, start, end, status, _headers(export, sha, size, span))


async def discard_export(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    store: ContentStore,
    export_id: uuid.UUID,
) -> Export:
    """Discard an export that is not being built: its package is crypto-shredded."""
    action = "evidence.export.discard"
    export = await visible_export(session, principal, export_id, action=action, for_update=True)
    if export.status in (ExportStatus.DISCARDED, ExportStatus.EXPIRED):
        raise ExportGone(fields={"status": export.status})
    if export.status == ExportStatus.RUNNING:
        raise ExportRunning(fields={"status": export.status})
    previous = export.status
    export.status = ExportStatus.DISCARDED
    export.finished_at = export.finished_at or utcnow()
    await session.flush()
    await auditor.record(
        action,
        object_type=EXPORT,
        object_id=export.id,
        details={"previous": str(previous), "package_sha256": export.package_sha256},
    )
    if export.package_sha256 is not None:
        await shred_package(store, export.package_sha256)
    return export
