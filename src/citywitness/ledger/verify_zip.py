"""Reading an export package's zip without extracting it (offline verifier).

Stored (uncompressed) members are read straight from the archive file through a bounded,
seekable window, so hashing a multi-gigabyte original or letting the C2PA library seek in it
costs one pass over its bytes and no copy.  Compressed members (JSON, PDF, manifests) are
small and read through `zipfile`.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from pathlib import Path
from typing import IO

from citywitness.ledger.export_format import safe_path

READ_BYTES = 4 * 1024 * 1024
SMALL_LIMIT = 64 * 1024 * 1024  # manifest, notes, keys, tokens, sidecars, the report
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_MAGIC = b"PK\x03\x04"


class PackageError(ValueError):
    """The archive cannot be read as a package (not a zip, unsafe names, missing member)."""


class _Window(io.RawIOBase):
    """Bytes [start, start + size) of a file, seekable, read-only."""

    def __init__(self, path: Path, start: int, size: int) -> None:
        self._file = path.open("rb")
        self._start, self._size, self._position = start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._position)
        if want <= 0:
            return 0
        self._file.seek(self._start + self._position)
        n = self._file.readinto(memoryview(buffer)[:want])
        self._position += n
        return n

    def write(self, data: object) -> int:  # noqa: ARG002 - read-only stream
        raise io.UnsupportedOperation("read-only")

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self._file.close()
        super().close()


class PackageReader:
    """The members of a package archive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise PackageError(f"not a readable zip archive: {exc}") from None
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist():
            if info.is_dir():
                continue
            if not safe_path(info.filename) or info.filename in self.members:
                raise PackageError(f"unsafe or duplicate member name {info.filename!r}")
            self.members[info.filename] = info

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> PackageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, name: str) -> bool:
        return name in self.members

    def size(self, name: str) -> int:
        return self._info(name).file_size

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self.members.get(name)
        if info is None:
            raise PackageError(f"{name} is missing from the package")
        return info

    def read_small(self, name: str) -> bytes:
        info = self._info(name)
        if info.file_size > SMALL_LIMIT:
            raise PackageError(f"{name} is larger than {SMALL_LIMIT} bytes")
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise PackageError(f"{name} cannot be read: {exc}") from None

    def open(self, name: str) -> IO[bytes]:
        """A seekable reader of a member's bytes."""
        info = self._info(name)
        if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:
            return io.BufferedReader(_Window(self.path, self._data_offset(info), info.file_size))
        return self._zip.open(info)

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        with self.path.open("rb") as handle:
            handle.seek(info.header_offset)
            header = handle.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_MAGIC:
            raise PackageError(f"{info.filename}: bad local header")
        fields = _LOCAL_HEADER.unpack(header)
        name_len, extra_len = int(fields[-2]), int(fields[-1])
        return info.header_offset + _LOCAL_HEADER.size + name_len + extra_len

    def sha256(self, name: str) -> tuple[str, int]:
        """SHA-256 (hex) and length of a member's bytes, in one streaming pass."""
        digest, total = hashlib.sha256(), 0
        try:
            with self.open(name) as stream:
                while chunk := stream.read(READ_BYTES):
                    digest.update(chunk)
                    total += len(chunk)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise PackageError(f"{name} cannot be read: {exc}") from None
        return digest.hexdigest(), total
