"""Partial uploads: encrypt and hash as bytes stream in, checkpoint, resume after a crash.

A partial upload is a directory `<staging>/<upload id>/` holding

- `blob`: the object being built, in the final format: a header placeholder, then the
  frames of every full chunk so far;
- `checkpoint.json`: the state at the last checkpoint: the wrapped data key, the number of
  chunks and plaintext bytes made durable, the current epoch, and the bytes after the last
  full chunk (the "tail"), encrypted under a key of its own with a fresh random nonce.

The SHA-256 of the plaintext is computed as bytes stream in.  Python cannot serialize a
hash state, so resuming after a crash re-hashes the durable plaintext once by decrypting
the chunks (rare, and it reads only our own staging file).  Every resume moves to a new
epoch before writing, so a chunk index is never sealed twice under the same nonce even if
the client sends different bytes the second time.

`write_many` (the pipelined path) hands sealed chunks to the kernel's writeback as they
are written: every `WRITEBACK_BYTES`, `posix_fadvise(DONTNEED)` on the just-written (still
dirty) range starts writing it out without waiting (pages already clean may leave the
page cache; a new object is read back only by probing and derivative jobs).  A checkpoint's
fsync then waits only for the last few megabytes instead of everything since the
previous one, and the disk works while the next bytes arrive.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from citywitness.kit.clock import utcnow
from citywitness.storage.backend import fsync_dir
from citywitness.storage.errors import (
    InsufficientStorage,
    IntegrityFailure,
    InvalidUploadId,
    UploadExists,
    UploadNotFound,
    WriterClosed,
)
from citywitness.storage.format import (
    FRAME_OVERHEAD,
    HEADER_BYTES,
    Header,
    ObjectCipher,
    frame_offset,
    new_data_key,
    stored_size,
)
from citywitness.storage.keys import KeyWrapper

UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CHECKPOINT = "checkpoint.json"
BLOB = "blob"
WRITEBACK_BYTES = 4 * 1024 * 1024


def upload_context(upload_id: str, object_id: bytes) -> bytes:
    """What the data key of a partial upload is bound to when wrapped."""
    return b"citywitness/upload/" + upload_id.encode() + b"/" + object_id.hex().encode()


def upload_dir(staging: Path, upload_id: str) -> Path:
    if not UPLOAD_ID.match(upload_id):
        raise InvalidUploadId(fields={"upload_id": "8-64 of A-Z a-z 0-9 - _"})
    return staging / upload_id


@dataclass(frozen=True)
class Sealed:
    """A sealed upload: every byte received, the object complete in `blob`."""

    sha256: str
    size: int
    stored_size: int


@dataclass(frozen=True)
class PartialUpload:
    """The durable state of a partial upload (what `checkpoint.json` holds)."""

    upload_id: str
    object_id: bytes
    salt: bytes
    chunk_size: int
    kek_id: str
    wrapped_key: bytes
    created_at: datetime
    epoch: int = 0
    chunks: int = 0
    offset: int = 0
    tail: bytes = b""
    sealed: Sealed | None = None
    info: dict[str, str] = field(default_factory=dict)

    @property
    def header(self) -> Header:
        return Header(self.chunk_size, self.object_id, self.salt, 0)

    def dump(self) -> bytes:
        data: dict[str, Any] = asdict(self)
        for name in ("object_id", "salt", "wrapped_key", "tail"):
            data[name] = base64.b64encode(data[name]).decode()
        data["created_at"] = self.created_at.isoformat()
        return json.dumps({"version": 1, **data}, sort_keys=True).encode()

    @classmethod
    def load(cls, raw: bytes) -> PartialUpload:
        data = json.loads(raw)
        if data.pop("version", None) != 1:
            raise IntegrityFailure("partial upload checkpoint has an unknown version")
        for name in ("object_id", "salt", "wrapped_key", "tail"):
            data[name] = base64.b64decode(data[name])
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        if data["sealed"] is not None:
            data["sealed"] = Sealed(**data["sealed"])
        return cls(**data)


def read_checkpoint(directory: Path) -> PartialUpload:
    try:
        raw = (directory / CHECKPOINT).read_bytes()
    except FileNotFoundError:
        raise UploadNotFound(fields={"upload_id": directory.name}) from None
    try:
        return PartialUpload.load(raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityFailure(f"partial upload checkpoint is unreadable: {exc}") from None


def _write_atomic(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temp.replace(path)
    fsync_dir(path.parent)


class _NoSpace:
    """Turn ENOSPC into a 507 (the partial upload stays resumable from its checkpoint)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise InsufficientStorage("the staging disk is full") from exc


class StagedWriter:
    """Synchronous core of an upload: hash, encrypt, append, checkpoint, seal."""

    def __init__(
        self, directory: Path, state: PartialUpload, data_key: bytes, handle: BinaryIO | None
    ) -> None:
        self.directory = directory
        self.state = state
        self.data_key = data_key
        self._cipher = ObjectCipher(data_key, state.header)
        self._hash = hashlib.sha256()
        self._buf = bytearray()
        self._handle = handle
        self._chunks = state.chunks
        self._offset = state.offset
        self._written_back = frame_offset(state.chunks, state.chunk_size)
        self.closed = False

    @property
    def upload_id(self) -> str:
        return self.state.upload_id

    @property
    def offset(self) -> int:
        """Plaintext bytes received so far (durable only up to the last checkpoint)."""
        return self.state.sealed.size if self.state.sealed else self._offset

    @property
    def buffered(self) -> int:
        """Plaintext bytes waiting for their chunk to fill."""
        return len(self._buf)

    @property
    def blob_path(self) -> Path:
        return self.directory / BLOB

    @classmethod
    def create(
        cls,
        staging: Path,
        upload_id: str,
        wrapper: KeyWrapper,
        chunk_size: int,
        info: dict[str, str] | None = None,
    ) -> StagedWriter:
        directory = upload_dir(staging, upload_id)
        staging.mkdir(parents=True, exist_ok=True)
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            raise UploadExists(fields={"upload_id": upload_id}) from None
        header, data_key = Header.new(chunk_size), new_data_key()
        wrapped = wrapper.wrap(data_key, upload_context(upload_id, header.object_id))
        state = PartialUpload(
            upload_id=upload_id,
            object_id=header.object_id,
            salt=header.salt,
            chunk_size=chunk_size,
            kek_id=wrapper.kek_id,
            wrapped_key=wrapped,
            created_at=utcnow(),
            info=dict(info or {}),
        )
        with _NoSpace():
            handle = (directory / BLOB).open("w+b")
            handle.write(bytes(HEADER_BYTES))
            writer = cls(directory, state, data_key, handle)
            writer.checkpoint()  # epoch 0 is durable before any chunk is sealed under it
        fsync_dir(staging)
        return writer

    @classmethod
    def resume(cls, staging: Path, upload_id: str, wrapper: KeyWrapper) -> StagedWriter:
        directory = upload_dir(staging, upload_id)
        state = read_checkpoint(directory)
        context = upload_context(upload_id, state.object_id)
        data_key = wrapper.unwrap(state.wrapped_key, state.kek_id, context)
        if state.sealed is not None:
            return cls(directory, state, data_key, None)
        try:
            handle = (directory / BLOB).open("r+b")
        except FileNotFoundError:
            raise IntegrityFailure("partial upload lost its blob") from None
        bumped = replace(state, epoch=state.epoch + 1)
        with _NoSpace():  # the new epoch is durable before any chunk is sealed under it
            _write_atomic(directory / CHECKPOINT, bumped.dump())
        writer = cls(directory, bumped, data_key, handle)
        writer._rehash(handle, state)
        return writer

    def _rehash(self, handle: BinaryIO, state: PartialUpload) -> None:
        size = state.chunk_size + FRAME_OVERHEAD
        handle.truncate(frame_offset(state.chunks, state.chunk_size))
        handle.seek(HEADER_BYTES)
        for index in range(state.chunks):
            frame = handle.read(size)
            self._hash.update(self._cipher.open_chunk(index, frame, final=False))
        tail = self._cipher.open_tail(state.tail, state.chunks * state.chunk_size)
        self._hash.update(tail)
        self._buf = bytearray(tail)
        if state.chunks * state.chunk_size + len(tail) != state.offset:
            raise IntegrityFailure("partial upload checkpoint does not match its blob")

    def _open_handle(self) -> BinaryIO:
        if self.closed or self.state.sealed is not None or self._handle is None:
            raise WriterClosed(fields={"upload_id": self.upload_id})
        return self._handle

    def write(self, data: bytes | memoryview) -> None:
        handle = self._open_handle()
        self._hash.update(data)
        self._buf += data
        self._offset += len(data)
        size = self.state.chunk_size
        if len(self._buf) <= size:
            return  # the last full chunk stays buffered: it may turn out to be the final one
        done = 0
        with memoryview(self._buf) as view, _NoSpace():
            while len(view) - done > size:
                frame = self._cipher.seal_chunk(
                    self._chunks, self.state.epoch, view[done : done + size], final=False
                )
                handle.write(frame)
                self._chunks += 1
                done += size
        del self._buf[:done]

    def write_many(self, pieces: Sequence[bytes | memoryview]) -> None:
        """`write` each piece, then start the writeback of what was sealed (a worker thread)."""
        for piece in pieces:
            self.write(piece)
        self._start_writeback()

    def _start_writeback(self) -> None:
        """Ask the kernel to write the sealed frames out now, without waiting for them."""
        end = frame_offset(self._chunks, self.state.chunk_size)
        if end - self._written_back < WRITEBACK_BYTES or not hasattr(os, "posix_fadvise"):
            return
        handle = self._open_handle()
        handle.flush()
        with _NoSpace():
            os.posix_fadvise(
                handle.fileno(),
                self._written_back,
                end - self._written_back,
                os.POSIX_FADV_DONTNEED,
            )
        self._written_back = end

    def checkpoint(self) -> int:
        """Make every byte received so far durable; return that offset."""
        handle = self._open_handle()
        with _NoSpace():
            handle.flush()
            os.fsync(handle.fileno())
            tail = self._cipher.seal_tail(bytes(self._buf), self._chunks * self.state.chunk_size)
            self.state = replace(self.state, chunks=self._chunks, offset=self._offset, tail=tail)
            _write_atomic(self.directory / CHECKPOINT, self.state.dump())
        return self._offset

    def seal(self) -> Sealed:
        """Write the final chunk and the header; the blob is then complete and immutable."""
        if self.state.sealed is not None:
            return self.state.sealed
        handle = self._open_handle()
        with _NoSpace():
            final = self._cipher.seal_chunk(
                self._chunks, self.state.epoch, bytes(self._buf), final=True
            )
            handle.write(final)
            handle.seek(0)
            handle.write(self._cipher.header_bytes(self._offset))
            handle.flush()
            os.fsync(handle.fileno())
            at_rest = os.fstat(handle.fileno()).st_size
            handle.close()
            size = self._offset
            sealed = Sealed(self._hash.hexdigest(), size, stored_size(size, self.state.chunk_size))
            if at_rest != sealed.stored_size:
                raise IntegrityFailure("sealed blob has an unexpected size")
            self.state = replace(self.state, sealed=sealed, tail=b"", offset=size)
            _write_atomic(self.directory / CHECKPOINT, self.state.dump())
        self._handle, self._buf = None, bytearray()
        return sealed

    def discard(self) -> None:
        """Remove the partial upload and everything it wrote."""
        self.closed = True
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        shutil.rmtree(self.directory, ignore_errors=True)
