"""A seekable, synchronous reader of a stored object's plaintext, for the export writer.

It decrypts through the storage layer's read API (`OpenObject.read_chunks`: every chunk
authenticated) one chunk at a time, so neither signing (the C2PA library seeks) nor copying
into the zip ever holds a whole file in memory.  Use it from a worker thread.
"""

from __future__ import annotations

import io

from citywitness.storage.reading import OpenObject


class StoredObjectReader(io.RawIOBase):
    def __init__(self, opened: OpenObject) -> None:
        self._opened = opened
        self._position = 0
        self._chunk_index = -1
        self._chunk = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._opened.size}
        self._position = max(0, base[whence] + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = self._opened.size
        if self._position >= size:
            return 0
        chunk_size = self._opened.chunk_size
        index, offset = divmod(self._position, chunk_size)
        if index != self._chunk_index:
            self._chunk = self._opened.read_chunks(index, index)[0]
            self._chunk_index = index
        part = self._chunk[offset : offset + len(buffer)]
        memoryview(buffer)[: len(part)] = part
        self._position += len(part)
        return len(part)

    def write(self, data: object) -> int:  # noqa: ARG002 - read-only stream
        raise io.UnsupportedOperation("read-only")

    def flush(self) -> None:
        return None

    def close(self) -> None:
        if not self.closed:
            self._opened.close()
        super().close()


def open_stored(opened: OpenObject) -> io.BufferedReader:
    return io.BufferedReader(StoredObjectReader(opened), buffer_size=1024 * 1024)
