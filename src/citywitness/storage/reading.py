"""Opening a stored object: unwrap its key, authenticate its header, decrypt chunk ranges."""

from __future__ import annotations

import uuid

from citywitness.storage.backend import BlobBackend, BlobMissing, BlobReader, blob_name
from citywitness.storage.errors import IntegrityFailure, KeyDestroyed
from citywitness.storage.format import (
    FRAME_OVERHEAD,
    HEADER_BYTES,
    Header,
    ObjectCipher,
    chunk_count,
    frame_offset,
    plain_len,
    stored_size,
)
from citywitness.storage.keys import KeyWrapper
from citywitness.storage.keystore import KeyRecord


class ObjectMissing(IntegrityFailure):
    """The key record exists but the stored bytes are gone."""

    code = "storage_object_missing"


def object_context(sha256: str, object_id: uuid.UUID) -> bytes:
    """What the data key of a stored object is bound to when wrapped."""
    return b"citywitness/object/" + sha256.encode() + b"/" + object_id.hex.encode()


class OpenObject:
    """A stored object ready for reading (synchronous; call it from a worker thread)."""

    def __init__(self, record: KeyRecord, reader: BlobReader, cipher: ObjectCipher) -> None:
        self.record = record
        self.size = record.size
        self.chunk_size = cipher.header.chunk_size
        self.chunks = chunk_count(record.size, self.chunk_size)
        self._reader = reader
        self._cipher = cipher

    @classmethod
    def open(cls, record: KeyRecord, backend: BlobBackend, wrapper: KeyWrapper) -> OpenObject:
        """Unwrap the key and authenticate the header against the key record."""
        if record.wrapped_key is None:
            raise KeyDestroyed(fields={"sha256": record.sha256})
        context = object_context(record.sha256, record.object_id)
        data_key = wrapper.unwrap(record.wrapped_key, record.kek_id, context)
        try:
            reader = backend.open(blob_name(record.sha256, record.object_id))
        except BlobMissing:
            raise ObjectMissing(fields={"sha256": record.sha256}) from None
        try:
            raw = reader.read(0, HEADER_BYTES)
            header = Header.parse(raw)
            if header.object_id != record.object_id.bytes:
                raise IntegrityFailure("object header belongs to another object")
            cipher = ObjectCipher(data_key, header)
            cipher.verify_header(raw)
            expected = stored_size(header.length, header.chunk_size)
            if header.length != record.size or reader.size != expected:
                raise IntegrityFailure("object length does not match its record")
        except BaseException:
            reader.close()
            raise
        return cls(record, reader, cipher)

    def read_chunks(self, first: int, last: int) -> list[bytes]:
        """Plaintext of chunks first..last (inclusive), each authenticated."""
        start = frame_offset(first, self.chunk_size)
        lengths = [plain_len(i, self.size, self.chunk_size) for i in range(first, last + 1)]
        total = sum(lengths) + FRAME_OVERHEAD * len(lengths)
        data = memoryview(self._reader.read(start, total))
        if len(data) != total:
            raise IntegrityFailure(f"chunks {first}..{last} are truncated")
        plain, position = [], 0
        for index, length in zip(range(first, last + 1), lengths, strict=True):
            frame = data[position : position + length + FRAME_OVERHEAD]
            final = index == self.chunks - 1
            plain.append(self._cipher.open_chunk(index, frame, final=final))
            position += length + FRAME_OVERHEAD
        return plain

    def close(self) -> None:
        self._reader.close()
