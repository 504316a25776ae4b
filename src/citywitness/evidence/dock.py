"""Dock and collection-station imports: files on a local disk become evidence (channel DOCK).

`DockImporter.ingest_file` streams one file into the ContentStore (hashed and encrypted
as it is read, checkpointed every `CHECKPOINT_BYTES`) and registers it with
`register_object` in a transaction of its own.  A small JSON state file per run remembers
each file (by path, size and modification time): the upload id while it is in flight, the
evidence id once done.  Run the same import again after an interruption and finished
files are skipped, a file cut short resumes from its last checkpoint.  Content already in
the department is a duplicate (detected by its SHA-256): no second item is made.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select

from citywitness.agencies.models import Officer
from citywitness.audit.service import Auditor
from citywitness.evidence.errors import EmptyFile, UnknownCategory, UnknownOfficer
from citywitness.evidence.ingest import register_object
from citywitness.evidence.models import Category, IngestChannel
from citywitness.evidence.schemas import IngestMetadata
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError
from citywitness.storage import ContentStore, ObjectWriter
from citywitness.storage.errors import UploadNotFound

READ_BYTES = 4 * 1024 * 1024
STATE_SAVE_SECONDS = 2.0
CHECKPOINT_BYTES = 64 * 1024 * 1024

INGESTED, DUPLICATE, DONE_EARLIER, FAILED = "ingested", "duplicate", "done earlier", "failed"


@dataclass(frozen=True)
class DockSource:
    """What every file of one import shares: who recorded it, on what, what it is."""

    department_id: uuid.UUID
    officer_badge: str
    recorder_serial: str
    category_code: str
    tags: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class FileResult:
    path: Path
    status: str
    size: int = 0
    evidence_id: uuid.UUID | None = None
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAILED


@dataclass
class ImportState:
    """The per-run state file: `path|size|mtime_ns` -> {"upload_id"} or {"evidence_id"}."""

    path: Path
    entries: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ImportState:
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(path)
        return cls(path, dict(raw.get("files", {})))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w") as handle:
            json.dump({"version": 1, "files": self.entries}, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)


def state_file(data_dir: Path, paths: Iterable[Path], source: DockSource) -> Path:
    """The state file of this import: the same command line finds the same file."""
    options = [source.officer_badge, source.recorder_serial, source.category_code]
    key = json.dumps(
        [sorted(str(p.absolute()) for p in paths), str(source.department_id), *options]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return data_dir / "ingest" / f"run-{digest}.json"


def collect(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Every regular file under `paths` (folders recursively, sorted); missing ones fail."""
    found: list[Path] = []
    missing: list[FileResult] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            missing.append(FileResult(path, FAILED, detail="not_found: no such file or folder"))
    return found, missing


async def resolve_source(
    db: Database,
    *,
    officer_badge: str,
    recorder_serial: str,
    category: str,
    tags: tuple[str, ...] = (),
    notes: str = "",
) -> DockSource:
    """Check the options once, before any file: the officer (and so the department) and the
    category (by code, or by name case-insensitively)."""
    async with db.transaction() as session:
        department_id = await session.scalar(
            select(Officer.department_id).where(Officer.badge_number == officer_badge)
        )
        if department_id is None:
            raise UnknownOfficer(fields={"officer": f"no officer with badge {officer_badge!r}"})
        code = await session.scalar(
            select(Category.code).where(
                (Category.code == category) | (func.lower(Category.name) == category.lower())
            )
        )
        if code is None:
            raise UnknownCategory(fields={"category": f"no category {category!r}"})
    return DockSource(department_id, officer_badge, recorder_serial, code, tags, notes)


Progress = Callable[[int], None]


class DockImporter:
    """Imports files of one `DockSource`, resumably (see the module doc)."""

    def __init__(
        self,
        db: Database,
        store: ContentStore,
        source: DockSource,
        state: ImportState,
        *,
        read_bytes: int = READ_BYTES,
        checkpoint_bytes: int = CHECKPOINT_BYTES,
    ) -> None:
        self.db = db
        self.store = store
        self.source = source
        self.state = state
        self.read_bytes = read_bytes
        self.checkpoint_bytes = checkpoint_bytes
        self._saved_at = time.monotonic()

    def save_state(self, *, force: bool = True) -> None:
        """Write the state file; unforced, at most every `STATE_SAVE_SECONDS`.

        A finished file whose entry was not saved yet is found again by its hash after a
        crash (a duplicate, no second item): the file is only a shortcut.
        """
        if force or time.monotonic() - self._saved_at >= STATE_SAVE_SECONDS:
            self.state.save()
            self._saved_at = time.monotonic()

    def _meta(self, path: Path) -> IngestMetadata:
        return IngestMetadata.parse(
            {
                "filename": path.name,
                "officer_badge": self.source.officer_badge,
                "recorder_serial": self.source.recorder_serial,
                "category_code": self.source.category_code,
                "tags": list(self.source.tags),
                "notes": self.source.notes,
            }
        )

    async def ingest_file(self, path: Path, progress: Progress | None = None) -> FileResult:
        """One file: done earlier, ingested, duplicate, or failed (with the error's code)."""
        stat = await asyncio.to_thread(path.stat)
        key = f"{path.absolute()}|{stat.st_size}|{stat.st_mtime_ns}"  # noqa: ASYNC240 - no I/O
        entry = self.state.entries.get(key, {})
        if "evidence_id" in entry:
            if progress is not None:
                progress(stat.st_size)
            return FileResult(path, DONE_EARLIER, stat.st_size, uuid.UUID(entry["evidence_id"]))
        try:
            meta = self._meta(path)
            if stat.st_size == 0:
                raise EmptyFile(fields={"size": "zero-byte files are not evidence"})
            return await self._ingest(path, key, meta, stat.st_size, progress)
        except AppError as exc:
            if self.state.entries.pop(key, None) is not None:
                self.save_state(force=False)
            detail = f"{exc.code}: {exc.detail}"
            if exc.fields:
                detail += " (" + "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) + ")"
            return FileResult(path, FAILED, stat.st_size, detail=detail)

    async def _writer(self, key: str, size: int) -> ObjectWriter:
        upload_id = self.state.entries.get(key, {}).get("upload_id")
        if upload_id is not None:
            try:
                return await self.store.resume_writer(upload_id)
            except UploadNotFound:
                pass
        upload_id = "dock-" + secrets.token_hex(12)
        writer = await self.store.open_writer(upload_id=upload_id, expected_size=size)
        self.state.entries[key] = {"upload_id": upload_id}
        self.save_state(force=size > self.checkpoint_bytes)  # else nothing to resume
        return writer

    async def _ingest(
        self, path: Path, key: str, meta: IngestMetadata, size: int, progress: Progress | None
    ) -> FileResult:
        writer = await self._writer(key, size)
        if progress is not None and writer.offset:
            progress(writer.offset)  # durable from an earlier, interrupted run
        with path.open("rb") as handle:
            await self._copy(handle, writer, size, progress)
        stored = await writer.finish()
        async with self.db.transaction() as session:
            registered = await register_object(
                session,
                Auditor(session=session, actor=None, actor_kind="cli"),
                store=self.store,
                stored=stored,
                department_id=self.source.department_id,
                uploaded_by=None,
                channel=IngestChannel.DOCK,
                meta=meta,
                source_path=path,
            )
        item = registered.item
        self.state.entries[key] = {"evidence_id": str(item.id), "sha256": stored.sha256}
        self.save_state(force=False)
        status = INGESTED if registered.created else DUPLICATE
        detail = "" if registered.created else f"same content as item {item.id}"
        return FileResult(path, status, size, item.id, detail)

    async def _copy(
        self, handle: BinaryIO, writer: ObjectWriter, size: int, progress: Progress | None
    ) -> None:
        handle.seek(writer.offset)
        since_checkpoint = 0
        while True:
            piece = await asyncio.to_thread(handle.read, self.read_bytes)
            if not piece:
                break
            await writer.write(piece)
            since_checkpoint += len(piece)
            if since_checkpoint >= self.checkpoint_bytes:
                await writer.checkpoint()
                since_checkpoint = 0
            if progress is not None:
                progress(len(piece))
        if writer.offset != size:
            await writer.abort()
            raise FileChanged(fields={"size": f"expected {size}, read {writer.offset}"})


class FileChanged(AppError):
    """The file changed while it was being read; import it again."""

    code = "file_changed"
    status = 409


def summary(results: Iterable[FileResult]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts
