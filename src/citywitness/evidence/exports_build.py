"""The export job's body, and the cleanup of expired packages.

`build_export` is idempotent and safe to rerun at any point:

1. it takes the export (queued, or running after a crash) and re-checks that the requester
   still may export every item (roles can change between the request and the job);
2. it writes the package into its own build folder (`exports.build_dir/<export id>`, 0700),
   emptied first, so a rerun after a crash starts clean and leaves nothing of the old run;
3. it stores the package in the encrypted content store (checked against the hash the
   writer computed) and records it on the export, with its expiry, in one transaction;
4. the build folder, which holds plaintext, is removed whatever happened.

A finished export (done, failed, discarded, expired) is left alone, so a rerun after step 3
changes nothing: one export has one package.  Errors that a rerun cannot fix (an item
destroyed meanwhile, stored bytes that do not match their ingest hash, the requester no
longer allowed) fail the export with their code at once; others are retried with the
platform's backoff and fail it (`export_failed`) on the last run.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.audit.service import Auditor
from citywitness.evidence.export_models import Export, ExportedItem, ExportStatus
from citywitness.evidence.exports import EvidenceNotExportable, export_info, write_export
from citywitness.evidence.service import visible_item
from citywitness.identity.models import User
from citywitness.identity.principals import load_principal
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.ledger.export_writer import ExportIntegrityError
from citywitness.settings import Settings
from citywitness.storage import ContentStore, StoredObject, lock_live_key
from citywitness.storage.errors import KeyDestroyed, ObjectDestroyed, ObjectNotFound

log = logging.getLogger(__name__)

READ_BYTES = 8 * 1024 * 1024
ABANDONED_AFTER = timedelta(hours=24)
EXPIRE_BATCH = 100
PERMANENT = (
    EvidenceNotExportable,
    ExportIntegrityError,
    ObjectNotVisible,
    KeyDestroyed,
    ObjectDestroyed,
    ObjectNotFound,
)


class PackageNotRecorded(RuntimeError):
    """The stored package vanished before the export referenced it; the job is retried."""


@dataclass(frozen=True)
class _Plan:
    item_ids: list[uuid.UUID]
    user_id: uuid.UUID
    username: str
    reason: str
    derivatives: bool
    attempts: int
    refused: bool


def build_root(settings: Settings) -> Path:
    path = settings.exports.build_dir
    return path if path.is_absolute() else settings.data_dir / path


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


async def _start(db: Database, export_id: uuid.UUID) -> _Plan | None:
    """Mark the export running (one more attempt) and re-check the requester's rights."""
    async with db.transaction() as session:
        export = await session.get(Export, export_id, with_for_update=True)
        if export is None or export.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            return None
        export.status = ExportStatus.RUNNING
        export.attempts += 1
        export.started_at = utcnow()
        rows = await session.scalars(
            select(ExportedItem.evidence_id)
            .where(ExportedItem.export_id == export_id)
            .order_by(ExportedItem.position)
        )
        ids = list(rows)
        user = await session.get(User, export.requested_by)
        refused = user is None or not user.is_active
        if user is not None and not refused:
            principal = await load_principal(session, user, auth_method="job")
            try:
                for item_id in ids:
                    await visible_item(session, principal, item_id, Permission.EVIDENCE_EXPORT)
            except ObjectNotVisible:
                refused = True
        return _Plan(
            ids,
            export.requested_by,
            user.username if user is not None else "",
            export.reason,
            export.derivatives,
            export.attempts,
            refused,
        )


async def _fail(db: Database, export_id: uuid.UUID, code: str) -> None:
    async with db.transaction() as session:
        export = await session.get(Export, export_id, with_for_update=True)
        if export is not None and export.status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            export.status = ExportStatus.FAILED
            export.error_code = code
            export.finished_at = utcnow()
    log.warning("export failed", extra={"export_id": str(export_id), "error": code})


async def _store_package(store: ContentStore, path: Path, sha256: str, size: int) -> StoredObject:
    """The package, encrypted into the content store; its hash must be `sha256`."""
    writer = await store.open_writer(expected_size=size)
    try:
        with path.open("rb") as source:
            while chunk := await asyncio.to_thread(source.read, READ_BYTES):
                await writer.write(chunk)
        return await writer.finish(sha256)
    except BaseException:
        await writer.abort()
        raise


async def _record_done(
    db: Database, export_id: uuid.UUID, stored: StoredObject, ttl: timedelta
) -> ExportStatus:
    async with db.transaction() as session:
        export = await session.get(Export, export_id, with_for_update=True)
        if export is None or export.status != ExportStatus.RUNNING:
            return export.status if export is not None else ExportStatus.DISCARDED
        if not await lock_live_key(session, stored.sha256):
            raise PackageNotRecorded(f"package {stored.sha256} is not live")
        now = utcnow()
        export.status = ExportStatus.DONE
        export.package_sha256 = stored.sha256
        export.package_size = stored.size
        export.finished_at = now
        export.expires_at = now + ttl
        export.error_code = None
        return ExportStatus.DONE


async def build_export(
    db: Database, settings: Settings, store: ContentStore, export_id: uuid.UUID, *, runs: int
) -> str:
    """Build the export's package (see the module doc); the export's status afterwards."""
    plan = await _start(db, export_id)
    if plan is None:
        return "unchanged"
    if plan.refused:
        await _fail(db, export_id, "export_not_permitted")
        return ExportStatus.FAILED.value
    folder = build_root(settings) / str(export_id)
    await asyncio.to_thread(shutil.rmtree, folder, True)
    await asyncio.to_thread(_private_dir, build_root(settings))
    await asyncio.to_thread(_private_dir, folder)
    info = export_info(plan.user_id, plan.username, plan.reason)
    try:
        summary = await write_export(
            db, settings, store, plan.item_ids, info, folder / "package.zip", plan.derivatives
        )
        stored = await _store_package(store, summary.path, summary.sha256, summary.size)
        ttl = timedelta(hours=settings.exports.package_ttl_hours)
        status = await _record_done(db, export_id, stored, ttl)
        if status is not ExportStatus.DONE:
            await shred_package(store, stored.sha256)
    except PERMANENT as exc:
        await _fail(db, export_id, str(getattr(exc, "code", "export_integrity")))
        return ExportStatus.FAILED.value
    except Exception:
        if plan.attempts < runs:
            raise
        log.exception("export failed on its last run", extra={"export_id": str(export_id)})
        await _fail(db, export_id, "export_failed")
        return ExportStatus.FAILED.value
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    log.info("export built", extra={"export_id": str(export_id), "status": str(status)})
    return status.value


async def shred_package(store: ContentStore, sha256: str) -> None:
    """Crypto-shred a stored package (idempotent; one already gone is fine)."""
    try:
        await store.destroy(sha256)
    except ObjectNotFound:
        return


async def _expire_batch(db: Database, store: ContentStore, now: datetime) -> int:
    async with db.transaction() as session:
        due = list(
            await session.scalars(
                select(Export.id)
                .where(Export.status == ExportStatus.DONE, Export.expires_at <= now)
                .order_by(Export.expires_at)
                .limit(EXPIRE_BATCH)
            )
        )
    for export_id in due:
        async with db.transaction() as session:
            export = await session.get(Export, export_id, with_for_update=True)
            if export is None or export.status != ExportStatus.DONE:
                continue
            if export.package_sha256 is not None:
                await shred_package(store, export.package_sha256)
            export.status = ExportStatus.EXPIRED
            await Auditor(session=session, actor=None, actor_kind="system").record(
                "evidence.export.expire",
                object_type="evidence_export",
                object_id=export.id,
                details={"package_sha256": export.package_sha256},
            )
    return len(due)


async def _abandon(db: Database, now: datetime) -> int:
    async with db.transaction() as session:
        stuck = list(
            await session.scalars(
                select(Export)
                .where(
                    Export.status == ExportStatus.RUNNING,
                    Export.started_at < now - ABANDONED_AFTER,
                )
                .with_for_update(skip_locked=True)
            )
        )
        for export in stuck:
            export.status = ExportStatus.FAILED
            export.error_code = "export_abandoned"
            export.finished_at = now
    return len(stuck)


async def _sweep_build_dirs(db: Database, settings: Settings) -> int:
    """Remove build folders of exports that are not queued or running (a crashed run's)."""
    root = build_root(settings)
    names = await asyncio.to_thread(
        lambda: [p.name for p in root.iterdir()] if root.is_dir() else []
    )
    ids: dict[str, uuid.UUID | None] = {}
    for name in names:
        try:
            ids[name] = uuid.UUID(name)
        except ValueError:
            ids[name] = None
    async with db.transaction() as session:
        active = set(
            await session.scalars(
                select(Export.id).where(
                    Export.id.in_([i for i in ids.values() if i is not None]),
                    Export.status.in_([ExportStatus.QUEUED, ExportStatus.RUNNING]),
                )
            )
        )
    stale = [name for name, found in ids.items() if found not in active]
    for name in stale:
        await asyncio.to_thread(shutil.rmtree, root / name, True)
    return len(stale)


async def clean_exports(
    db: Database, store: ContentStore, settings: Settings, *, now: datetime | None = None
) -> dict[str, int]:
    """Expire due packages (crypto-shredded), fail abandoned runs, remove stale folders."""
    now = now or utcnow()
    expired = 0
    while (done := await _expire_batch(db, store, now)) > 0:
        expired += done
        if done < EXPIRE_BATCH:
            break
    return {
        "expired": expired,
        "abandoned": await _abandon(db, now),
        "folders_removed": await _sweep_build_dirs(db, settings),
    }
