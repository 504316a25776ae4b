"""Court export of evidence items: the evidence side of `ledger.export_*`.

`export_items` runs as the exporting user (`evidence:export`, items outside the caller's scope
are 404 like everywhere else):

1. in one transaction: check every item, then record the export (an audit event and an
   `evidence.exported` ledger entry per item, the reason committed to by its SHA-256);
2. sequence the log, so the package's checkpoint covers the export entries themselves;
3. read the custody entries, proofs, checkpoint, time stamp and keys (`ledger.export_log`);
4. write the package in a worker thread (`ledger.export_writer`): originals decrypted chunk by
   chunk through the storage layer and checked against their ingest SHA-256 on the way.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness import __version__
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.agencies.models import Department, Officer
from citywitness.audit.service import Auditor
from citywitness.evidence.derivative_models import Derivative, DerivativeKind
from citywitness.evidence.ingest import EVIDENCE
from citywitness.evidence.models import Category, EvidenceItem, EvidenceState
from citywitness.evidence.service import visible_item
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError
from citywitness.ledger import service as ledger
from citywitness.ledger.events import LedgerActor, LedgerEvent, LedgerKind, reason_digest
from citywitness.ledger.export_format import extension_of
from citywitness.ledger.export_log import CustodyNotSequenced, c2pa_identity_for, log_evidence
from citywitness.ledger.export_stream import open_stored
from citywitness.ledger.export_writer import (
    CustodyEntry,
    ExportFile,
    ExportInfo,
    ExportItem,
    PackageSummary,
    write_package,
)
from citywitness.ledger.report_pdf import custody_report
from citywitness.ledger.sequencer import sequence_all
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from citywitness.storage.reading import OpenObject

SEQUENCE_WAIT_SECONDS = 15.0


class ExportReasonRequired(AppError):
    code = "export_reason_required"
    status = 422


class EvidenceNotExportable(AppError):
    """The item's content is gone (destroyed) or not complete (a live recording)."""

    code = "evidence_not_exportable"
    status = 409


class NothingToExport(AppError):
    code = "nothing_to_export"
    status = 422


async def record_export(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    *,
    item_ids: Sequence[uuid.UUID],
    reason: str,
    export_id: str,
) -> list[EvidenceItem]:
    """Check the caller may export every item and record the export (audit + ledger)."""
    if not reason.strip():
        raise ExportReasonRequired("a reason is required to export evidence")
    if not item_ids:
        raise NothingToExport("no items to export")
    items = []
    for item_id in dict.fromkeys(item_ids):
        item = await visible_item(session, principal, item_id, Permission.EVIDENCE_EXPORT)
        if item.state != EvidenceState.ACTIVE:
            raise EvidenceNotExportable(f"evidence {item.id} is {item.state}")
        items.append(item)
    events = []
    for item in items:
        await auditor.record(
            "evidence.exported",
            object_type=EVIDENCE,
            object_id=item.id,
            department_id=item.department_id,
            reason=reason.strip(),
            details={"export": export_id},
        )
        events.append(
            LedgerEvent(
                kind=LedgerKind.EVIDENCE_EXPORTED,
                object_type=EVIDENCE,
                object_id=item.id,
                department_id=item.department_id,
                actor=LedgerActor("user", principal.user_id),
                details={"export": export_id, "reason_sha256": reason_digest(reason)},
            )
        )
    await ledger.append_many(session, events)
    return items


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


async def _metadata(session: AsyncSession, item: EvidenceItem) -> dict[str, Any]:
    department = await session.get(Department, item.department_id)
    officer = await session.get(Officer, item.officer_id) if item.officer_id else None
    category = await session.get(Category, item.category_id) if item.category_id else None
    return {
        "id": str(item.id),
        "kind": str(item.kind),
        "sha256": item.sha256,
        "size_bytes": item.size_bytes,
        "original_filename": item.original_filename,
        "media_type": item.media_type,
        "duration_seconds": item.duration_seconds,
        "width": item.width,
        "height": item.height,
        "captured_start": _iso(item.captured_start),
        "captured_end": _iso(item.captured_end),
        "recorder_serial": item.recorder_serial,
        "officer_id": str(item.officer_id) if item.officer_id else None,
        "officer_badge": officer.badge_number if officer else None,
        "department_id": str(item.department_id),
        "department": department.name_zh or department.name if department else None,
        "category": category.code if category else None,
        "tags": list(item.tags),
        "notes": item.notes,
        "classification": item.classification,
        "ingest_channel": str(item.ingest_channel),
        "ingested_at": _iso(item.created_at),
        "derived_from": str(item.derived_from_id) if item.derived_from_id else None,
    }


def _opener(store: ContentStore, record: Any) -> Callable[[], IO[bytes]]:
    def open_file() -> IO[bytes]:
        return open_stored(OpenObject.open(record, store.backend, store.wrapper))

    return open_file


async def _file(  # noqa: PLR0917 - one file's fields, private
    store: ContentStore, role: str, kind: str, sha: str, size: int, media_type: str, filename: str
) -> ExportFile:
    record = await store.keys.get(sha)
    if record is None or record.destroyed:
        raise EvidenceNotExportable(f"stored object {sha} is not readable")
    return ExportFile(
        role,
        kind,
        media_type,
        sha,
        size,
        extension_of(filename, media_type),
        _opener(store, record),
    )


async def _export_item(
    session: AsyncSession,
    store: ContentStore,
    item: EvidenceItem,
    custody: tuple[CustodyEntry, ...],
    derivatives: bool,
) -> ExportItem:
    files = [
        await _file(
            store,
            "original",
            "original",
            item.sha256,
            item.size_bytes,
            item.media_type,
            item.original_filename,
        )
    ]
    if derivatives:
        rows = await session.scalars(
            select(Derivative)
            .where(Derivative.evidence_id == item.id, Derivative.kind != DerivativeKind.REDACTED)
            .order_by(Derivative.kind)
        )
        for row in rows:
            ext = "mp4" if row.media_type == "video/mp4" else "jpg"
            files.append(
                await _file(
                    store,
                    "derivative",
                    str(row.kind),
                    row.sha256,
                    row.size_bytes,
                    row.media_type,
                    f"x.{ext}",
                )
            )
    return ExportItem(str(item.id), await _metadata(session, item), tuple(files), custody)


async def _log_part(db: Database, settings: Settings, ids: list[str]) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SEQUENCE_WAIT_SECONDS
    while True:
        await sequence_all(db, settings)
        try:
            async with db.transaction() as session:
                return await log_evidence(session, settings, ids)
        except CustodyNotSequenced:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)  # another process holds the sequencer: it will get there


async def write_export(  # noqa: PLR0917 - one package's inputs
    db: Database,
    settings: Settings,
    store: ContentStore,
    item_ids: Sequence[uuid.UUID],
    info: ExportInfo,
    output: Path,
    derivatives: bool = False,
) -> PackageSummary:
    """Write the package of already recorded items (steps 2-4 of the module doc)."""
    ids = [str(item_id) for item_id in item_ids]
    log, custody = await _log_part(db, settings, ids)
    async with db.transaction() as session:
        exported = []
        for item_id in item_ids:
            item = await session.get(EvidenceItem, item_id)
            if item is None or item.state == EvidenceState.DESTROYED:
                raise EvidenceNotExportable(f"evidence {item_id} is destroyed")
            exported.append(
                await _export_item(session, store, item, custody[str(item_id)], derivatives)
            )
    identity = c2pa_identity_for(settings)
    return await asyncio.to_thread(
        write_package,
        output,
        items=exported,
        log=log,
        identity=identity,
        info=info,
        report=custody_report,
    )


def export_info(principal_id: uuid.UUID, username: str, reason: str) -> ExportInfo:
    return ExportInfo(
        utcnow(), f"CityWitness {__version__}", str(principal_id), username, reason.strip()
    )


async def export_items(
    db: Database,
    settings: Settings,
    store: ContentStore,
    principal: Principal,
    *,
    username: str,
    item_ids: Sequence[uuid.UUID],
    reason: str,
    output: Path,
    derivatives: bool = False,
    export_id: str | None = None,
) -> PackageSummary:
    """Export the items into a package at `output` (see the module doc)."""
    export_id = export_id or str(uuid.uuid4())
    async with db.transaction() as session:
        auditor = Auditor(session=session, actor=principal, actor_kind="user")
        items = await record_export(
            session, principal, auditor, item_ids=item_ids, reason=reason, export_id=export_id
        )
    info = export_info(principal.user_id, username, reason)
    ids = [item.id for item in items]
    return await write_export(db, settings, store, ids, info, output, derivatives)
