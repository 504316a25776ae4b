"""Round trips, ranged reads, encryption at rest, dedupe, digests and aborts (both backends)."""

from __future__ import annotations

import pytest

from citywitness.storage.backend import blob_name
from citywitness.storage.errors import (
    HashMismatch,
    ObjectNotFound,
    RangeNotSatisfiable,
    WriterClosed,
)
from citywitness.storage.format import HEADER_BYTES, stored_size
from citywitness.storage.store import ContentStore
from tests.storage.conftest import CHUNK, Rest, pattern, put, sha

SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * 1024 * 1024 + 17]


@pytest.mark.parametrize("size", SIZES)
async def test_round_trip(store: ContentStore, rest: Rest, size: int) -> None:
    data = pattern(size)
    stored = await put(store, data, piece=1500)
    assert stored.sha256 == sha(data)
    assert stored.size == size
    assert stored.stored_size == stored_size(size, CHUNK)
    assert stored.deduplicated is False
    assert await store.read_all(stored.sha256) == data
    assert rest.names() == [blob_name(stored.sha256, stored.object_id)]
    assert len(rest.get(rest.names()[0])) == stored.stored_size
    assert await store.stat(stored.sha256) == stored
    assert await store.exists(stored.sha256) is True


async def test_one_big_write_and_many_tiny_writes_agree(store: ContentStore) -> None:
    data = pattern(5 * CHUNK + 3, seed=1)
    writer = await store.open_writer()
    await writer.write(data)
    big = await writer.finish()
    writer = await store.open_writer()
    for byte in range(len(data)):
        await writer.write(data[byte : byte + 1])
    again = await writer.finish()
    assert (big.sha256, again.sha256) == (sha(data), sha(data))
    assert again.deduplicated is True


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 1),
        (CHUNK - 1, CHUNK),
        (CHUNK - 1, CHUNK + 1),
        (CHUNK, CHUNK),
        (CHUNK, 2 * CHUNK),
        (2 * CHUNK + 5, 3 * CHUNK + 1),
        (0, 3 * CHUNK + 10),
        (3 * CHUNK + 9, 3 * CHUNK + 10),
    ],
)
async def test_ranged_reads_at_chunk_boundaries(store: ContentStore, start: int, end: int) -> None:
    data = pattern(3 * CHUNK + 10, seed=2)
    stored = await put(store, data)
    parts = [part async for part in store.read_range(stored.sha256, start, end)]
    assert b"".join(parts) == data[start:end]
    assert len(parts) == (0 if start == end else (end - 1) // CHUNK - start // CHUNK + 1)


async def test_range_outside_the_object_is_refused(store: ContentStore) -> None:
    stored = await put(store, b"abc")
    for start, end in [(0, 4), (2, 1), (-1, 2)]:
        with pytest.raises(RangeNotSatisfiable) as caught:
            _ = [part async for part in store.read_range(stored.sha256, start, end)]
        assert caught.value.status == 416
        assert caught.value.fields == {"size": 3}


async def test_bytes_at_rest_are_not_the_plaintext(store: ContentStore, rest: Rest) -> None:
    marker = b"CITYWITNESS-PLAINTEXT-MARKER"
    data = marker * 2000
    stored = await put(store, data)
    at_rest = rest.get(blob_name(stored.sha256, stored.object_id))
    assert marker not in at_rest
    assert marker[:8] not in at_rest
    assert at_rest[:6] == b"CWSOBJ"
    assert await store.read_all(stored.sha256) == data


async def test_same_content_is_stored_once(store: ContentStore, rest: Rest) -> None:
    data = pattern(2 * CHUNK + 1, seed=3)
    first = await put(store, data)
    second = await put(store, data, piece=777)
    assert second.deduplicated is True
    assert (second.sha256, second.object_id) == (first.sha256, first.object_id)
    assert rest.names() == [blob_name(first.sha256, first.object_id)]
    assert list(store.staging_dir.iterdir()) == []
    assert (await store.usage()).objects == 1


async def test_expected_digest_mismatch_stores_nothing(store: ContentStore, rest: Rest) -> None:
    writer = await store.open_writer()
    await writer.write(b"recorded bytes")
    with pytest.raises(HashMismatch) as caught:
        await writer.finish(expected_sha256="0" * 64)
    assert caught.value.status == 422
    assert caught.value.fields == {"expected": "0" * 64, "actual": sha(b"recorded bytes")}
    assert rest.names() == []
    assert list(store.staging_dir.iterdir()) == []
    assert await store.exists(sha(b"recorded bytes")) is False


async def test_expected_digest_match_is_case_insensitive(store: ContentStore) -> None:
    writer = await store.open_writer()
    await writer.write(b"recorded bytes")
    stored = await writer.finish(expected_sha256=sha(b"recorded bytes").upper())
    assert stored.sha256 == sha(b"recorded bytes")


async def test_abort_leaves_nothing(store: ContentStore, rest: Rest) -> None:
    writer = await store.open_writer()
    await writer.write(pattern(3 * CHUNK))
    await writer.checkpoint()
    await writer.abort()
    assert rest.names() == []
    assert list(store.staging_dir.iterdir()) == []
    assert (await store.usage()).objects == 0
    with pytest.raises(WriterClosed):
        await writer.write(b"more")


async def test_writer_is_closed_after_finish(store: ContentStore) -> None:
    writer = await store.open_writer()
    await writer.write(b"x")
    await writer.finish()
    with pytest.raises(WriterClosed):
        await writer.write(b"y")


async def test_unknown_and_malformed_hashes_are_not_found(store: ContentStore) -> None:
    for bad in ["0" * 64, "../../etc/passwd", "A" * 64]:
        with pytest.raises(ObjectNotFound) as caught:
            await store.stat(bad)
        assert caught.value.status == 404
        assert await store.exists(bad) is False


async def test_header_is_the_only_fixed_overhead(store: ContentStore, rest: Rest) -> None:
    stored = await put(store, b"")
    at_rest = rest.get(blob_name(stored.sha256, stored.object_id))
    assert len(at_rest) == HEADER_BYTES + 20
    assert await store.read_all(stored.sha256) == b""


async def test_large_objects_go_up_in_parts(store: ContentStore, rest: Rest) -> None:
    data = pattern(11 * 1024 * 1024 + 5, seed=4)
    stored = await put(store, data, piece=1024 * 1024)
    assert await store.read_all(stored.sha256) == data
    if rest.kind == "s3":
        backend = rest.backend
        head = backend._client.head_object(  # type: ignore[attr-defined]
            Bucket=backend.bucket,  # type: ignore[attr-defined]
            Key="cw/" + blob_name(stored.sha256, stored.object_id),
        )
        assert head["ETag"].endswith('-3"')  # a multipart upload of three parts
