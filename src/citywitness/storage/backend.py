"""Where encrypted objects rest: the `BlobBackend` protocol, blob names, the local backend.

Backends are synchronous and deal in opaque ciphertext; `ContentStore` calls them from a
worker thread.  A blob is named `ab/cd/<sha256>.<object id>`: content-addressed by the
SHA-256 of the plaintext, with the random object id making every stored copy distinct, so
two writers racing on the same content never overwrite each other's bytes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

_NAME = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})\.([0-9a-f]{32})$")
TEMP_PREFIX = ".tmp-"


class BlobMissing(Exception):
    """The backend holds no blob of that name."""


def blob_name(sha256: str, object_id: uuid.UUID) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{object_id.hex}"


def parse_blob_name(name: str) -> tuple[str, uuid.UUID] | None:
    """(sha256, object id) of a blob name, or None for anything this store did not write."""
    match = _NAME.match(name)
    if match is None or match.group(3)[:2] != match.group(1):
        return None
    if match.group(3)[2:4] != match.group(2):
        return None
    return match.group(3), uuid.UUID(hex=match.group(4))


@dataclass(frozen=True)
class BlobInfo:
    name: str
    size: int
    modified: datetime


class BlobReader(Protocol):
    size: int

    def read(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes from `offset` (fewer only at the end of the blob)."""
        ...

    def close(self) -> None: ...


class BlobBackend(Protocol):
    def put_file(self, name: str, source: Path) -> None:
        """Store the file `source` as blob `name`, atomically and durably.

        The blob is either absent or complete, never partial; `source` may be moved away.
        """
        ...

    def open(self, name: str) -> BlobReader:
        """A reader for blob `name`; `BlobMissing` if there is none."""
        ...

    def size(self, name: str) -> int | None: ...

    def delete(self, name: str) -> None:
        """Remove blob `name` (no error if it is already gone)."""
        ...

    def list_page(self, after: str | None, limit: int) -> list[BlobInfo]:
        """Up to `limit` blobs in name order, strictly after `after`."""
        ...

    def free_bytes(self) -> int | None:
        """Free space where blobs are written, or None where that is not known (S3)."""
        ...


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _LocalReader:
    def __init__(self, path: Path) -> None:
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise BlobMissing(str(path)) from None
        self.size = os.fstat(self._fd).st_size

    def read(self, offset: int, length: int) -> bytes:
        parts = []
        while length > 0:
            part = os.pread(self._fd, min(length, 64 * 1024 * 1024), offset)
            if not part:
                break
            parts.append(part)
            offset += len(part)
            length -= len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        os.close(self._fd)


class LocalBackend:
    """Blobs as files under `root`, fanned out by hash prefix; writes are rename-atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        if parse_blob_name(name) is None:
            raise ValueError(f"not a blob name: {name!r}")
        return self.root / name

    def _ensure_dirs(self, directory: Path) -> None:
        missing = []
        while not directory.exists():
            missing.append(directory)
            directory = directory.parent
        for created in reversed(missing):
            with contextlib.suppress(FileExistsError):
                created.mkdir()
            fsync_dir(created.parent)

    def put_file(self, name: str, source: Path) -> None:
        target = self._path(name)
        self._ensure_dirs(target.parent)
        try:
            source.replace(target)  # staging on the same filesystem: one atomic rename
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # staging is on another filesystem: copy
                raise
            self._copy_in(source, target)
            source.unlink()
        else:
            fsync_dir(source.parent)
        fsync_dir(target.parent)

    def _copy_in(self, source: Path, target: Path) -> None:
        temp = target.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        try:
            with source.open("rb") as src, temp.open("xb") as dst:
                shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
                dst.flush()
                os.fsync(dst.fileno())
            temp.replace(target)
        finally:
            temp.unlink(missing_ok=True)

    def open(self, name: str) -> BlobReader:
        return _LocalReader(self._path(name))

    def size(self, name: str) -> int | None:
        try:
            return self._path(name).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        path = self._path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(path.parent)

    def list_page(self, after: str | None, limit: int) -> list[BlobInfo]:
        found: list[BlobInfo] = []
        for first in sorted(p.name for p in self.root.iterdir() if p.is_dir()):
            if after is not None and first < after[:2]:
                continue
            for second in sorted(p.name for p in (self.root / first).iterdir() if p.is_dir()):
                if after is not None and f"{first}/{second}" < after[:5]:
                    continue
                found.extend(self._list_dir(f"{first}/{second}", after))
                if len(found) >= limit:
                    return found[:limit]
        return found

    def _list_dir(self, prefix: str, after: str | None) -> list[BlobInfo]:
        infos = []
        for entry in sorted(os.scandir(self.root / prefix), key=lambda e: e.name):
            name = f"{prefix}/{entry.name}"
            if entry.name.startswith(TEMP_PREFIX) or not entry.is_file():
                continue
            if after is not None and name <= after:
                continue
            info = entry.stat()
            modified = datetime.fromtimestamp(info.st_mtime, UTC)
            infos.append(BlobInfo(name, info.st_size, modified))
        return infos

    def free_bytes(self) -> int | None:
        return shutil.disk_usage(self.root).free
