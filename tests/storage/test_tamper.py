"""A byte changed, cut, moved or swapped at rest is detected on read and by `check`."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from citywitness.storage.backend import blob_name
from citywitness.storage.errors import IntegrityFailure, KeyUnavailable
from citywitness.storage.format import FRAME_OVERHEAD, HEADER_BYTES
from citywitness.storage.keys import AesGcmKeyWrapper
from citywitness.storage.reading import ObjectMissing
from citywitness.storage.scrub import CheckIssue, check
from citywitness.storage.store import ContentStore, StoredObject
from tests.storage.conftest import CHUNK, Rest, pattern, put

FRAME = CHUNK + FRAME_OVERHEAD


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


async def _stored(store: ContentStore, rest: Rest, seed: int = 0) -> tuple[StoredObject, str]:
    stored = await put(store, pattern(3 * CHUNK + 100, seed=seed))
    return stored, blob_name(stored.sha256, stored.object_id)


async def _read_fails(store: ContentStore, sha256: str) -> IntegrityFailure:
    with pytest.raises(IntegrityFailure) as caught:
        await store.read_all(sha256)
    return caught.value


@pytest.mark.parametrize(
    "offset",
    [
        0,  # magic
        20,  # object id
        33,  # plaintext length
        HEADER_BYTES - 1,  # header MAC
        HEADER_BYTES + 1,  # epoch of chunk 0
        HEADER_BYTES + 4 + 10,  # ciphertext of chunk 0
        HEADER_BYTES + FRAME - 1,  # tag of chunk 0
        HEADER_BYTES + 2 * FRAME + 50,  # ciphertext of chunk 2
        -1,  # tag of the final chunk
    ],
)
async def test_one_flipped_byte_is_detected(store: ContentStore, rest: Rest, offset: int) -> None:
    stored, name = await _stored(store, rest)
    other, _ = await _stored(store, rest, seed=9)
    raw = rest.get(name)
    rest.put(name, flip(raw, offset % len(raw)))
    error = await _read_fails(store, stored.sha256)
    assert error.code == "storage_integrity_failed"
    assert error.status == 500
    report = await check(store)
    assert [(issue.kind, issue.sha256) for issue in report.issues] == [("corrupt", stored.sha256)]
    assert report.objects == 2
    assert await store.read_all(other.sha256) == pattern(3 * CHUNK + 100, seed=9)


async def test_a_clean_range_still_reads_next_to_a_damaged_chunk(
    store: ContentStore, rest: Rest
) -> None:
    stored, name = await _stored(store, rest)
    raw = rest.get(name)
    rest.put(name, flip(raw, HEADER_BYTES + 2 * FRAME + 50))
    first = b"".join([part async for part in store.read_range(stored.sha256, 0, CHUNK)])
    assert first == pattern(3 * CHUNK + 100)[:CHUNK]
    with pytest.raises(IntegrityFailure):
        _ = [part async for part in store.read_range(stored.sha256, 2 * CHUNK, 2 * CHUNK + 1)]


TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "drop the final chunk": lambda raw: raw[: HEADER_BYTES + 3 * FRAME],
    "cut one byte": lambda raw: raw[:-1],
    "append a byte": lambda raw: raw + b"\x00",
    "swap chunks 0 and 1": lambda raw: (
        raw[:HEADER_BYTES]
        + raw[HEADER_BYTES + FRAME : HEADER_BYTES + 2 * FRAME]
        + raw[HEADER_BYTES : HEADER_BYTES + FRAME]
        + raw[HEADER_BYTES + 2 * FRAME :]
    ),
    "repeat chunk 0 as chunk 1": lambda raw: (
        raw[: HEADER_BYTES + FRAME]
        + raw[HEADER_BYTES : HEADER_BYTES + FRAME]
        + raw[HEADER_BYTES + 2 * FRAME :]
    ),
}


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
async def test_cut_reordered_or_repeated_chunks_are_detected(
    store: ContentStore, rest: Rest, transform: str
) -> None:
    stored, name = await _stored(store, rest)
    rest.put(name, TRANSFORMS[transform](rest.get(name)))
    await _read_fails(store, stored.sha256)
    report = await check(store)
    assert [(issue.kind, issue.sha256) for issue in report.issues] == [("corrupt", stored.sha256)]


async def test_chunks_swapped_between_objects_are_detected(store: ContentStore, rest: Rest) -> None:
    first, first_name = await _stored(store, rest, seed=1)
    second, second_name = await _stored(store, rest, seed=2)
    a, b = rest.get(first_name), rest.get(second_name)
    chunk1 = slice(HEADER_BYTES + FRAME, HEADER_BYTES + 2 * FRAME)
    rest.put(first_name, a[: chunk1.start] + b[chunk1] + a[chunk1.stop :])
    rest.put(second_name, a)  # and a whole blob put in another's place
    await _read_fails(store, first.sha256)
    await _read_fails(store, second.sha256)
    report = await check(store)
    assert sorted(issue.sha256 or "" for issue in report.issues) == sorted(
        [first.sha256, second.sha256]
    )
    assert {issue.kind for issue in report.issues} == {"corrupt"}


async def test_missing_bytes_are_reported(store: ContentStore, rest: Rest) -> None:
    stored, name = await _stored(store, rest)
    rest.backend.delete(name)
    with pytest.raises(ObjectMissing) as caught:
        await store.read_all(stored.sha256)
    assert caught.value.code == "storage_object_missing"
    report = await check(store)
    assert report.issues == [
        CheckIssue("missing", stored.sha256, "the key record exists but the bytes are gone")
    ]


async def test_a_wrong_key_encryption_key_cannot_read(
    store: ContentStore, make_store: Callable[..., ContentStore]
) -> None:
    stored = await put(store, b"evidence")
    stranger = make_store(wrapper=AesGcmKeyWrapper(secrets.token_bytes(32)))
    with pytest.raises(KeyUnavailable) as caught:
        await stranger.read_all(stored.sha256)
    assert caught.value.code == "storage_key_unavailable"
    report = await check(stranger)
    assert [(issue.kind, issue.sha256) for issue in report.issues] == [
        ("key_unavailable", stored.sha256)
    ]
