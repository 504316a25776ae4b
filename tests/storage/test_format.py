"""The object format, byte by byte (no backend, no database)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from citywitness.storage.errors import IntegrityFailure
from citywitness.storage.format import (
    FRAME_OVERHEAD,
    HEADER_BYTES,
    Header,
    ObjectCipher,
    chunk_count,
    plain_len,
    stored_size,
)


def test_sizes() -> None:
    assert (HEADER_BYTES, FRAME_OVERHEAD) == (72, 20)
    assert [chunk_count(n, 4096) for n in (0, 1, 4095, 4096, 4097, 8192)] == [1, 1, 1, 1, 2, 2]
    assert stored_size(0, 4096) == 92
    assert stored_size(4097, 4096) == 72 + 4097 + 40
    assert [plain_len(i, 4097, 4096) for i in range(3)] == [4096, 1, 0]


def test_header_round_trip_and_mac() -> None:
    cipher = ObjectCipher(secrets.token_bytes(32), Header.new(4096))
    raw = cipher.header_bytes(12345)
    assert len(raw) == HEADER_BYTES
    assert raw[:8] == b"CWSOBJ\x01\x01"
    assert cipher.verify_header(raw).length == 12345
    for position in range(HEADER_BYTES):
        damaged = raw[:position] + bytes([raw[position] ^ 0x80]) + raw[position + 1 :]
        with pytest.raises(IntegrityFailure):
            cipher.verify_header(damaged)


def test_header_of_another_key_is_refused() -> None:
    header = Header.new(4096)
    raw = ObjectCipher(secrets.token_bytes(32), header).header_bytes(1)
    with pytest.raises(IntegrityFailure, match="failed authentication"):
        ObjectCipher(secrets.token_bytes(32), header).verify_header(raw)


def test_chunk_binds_index_final_flag_and_object() -> None:
    key, header = secrets.token_bytes(32), Header.new(4096)
    cipher = ObjectCipher(key, header)
    frame = bytes(cipher.seal_chunk(3, 7, b"payload", final=False))
    assert frame[:4] == b"\x00\x00\x00\x07"
    assert len(frame) == 7 + FRAME_OVERHEAD
    assert cipher.open_chunk(3, frame, final=False) == b"payload"
    sibling = ObjectCipher(key, Header(4096, secrets.token_bytes(16), header.salt, 0))
    attempts: list[Callable[[], bytes]] = [
        lambda: cipher.open_chunk(4, frame, final=False),
        lambda: cipher.open_chunk(3, frame, final=True),
        lambda: cipher.open_chunk(3, b"\x00\x00\x00\x08" + frame[4:], final=False),
        lambda: cipher.open_chunk(3, frame[:10], final=False),
        lambda: sibling.open_chunk(3, frame, final=False),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityFailure):
            attempt()


def test_tail_is_bound_to_its_offset() -> None:
    cipher = ObjectCipher(secrets.token_bytes(32), Header.new(4096))
    sealed = cipher.seal_tail(b"tail bytes", 8192)
    assert b"tail bytes" not in sealed
    assert cipher.open_tail(sealed, 8192) == b"tail bytes"
    with pytest.raises(IntegrityFailure):
        cipher.open_tail(sealed, 4096)


def test_bad_chunk_sizes_and_headers_are_refused() -> None:
    with pytest.raises(ValueError, match="chunk size"):
        Header.new(1024)
    with pytest.raises(IntegrityFailure, match="truncated"):
        Header.parse(b"CWSOBJ")
    with pytest.raises(IntegrityFailure, match="magic"):
        Header.parse(b"NOTOBJ" + bytes(HEADER_BYTES))
