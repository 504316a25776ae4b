"""Partial uploads survive a process restart: checkpoint, resume, finish (both backends)."""

from __future__ import annotations

import struct
import uuid

import pytest

from citywitness.storage.backend import blob_name
from citywitness.storage.errors import InvalidUploadId, UploadExists, UploadNotFound, WriterClosed
from citywitness.storage.format import FRAME_OVERHEAD, HEADER_BYTES
from citywitness.storage.staging import BLOB, StagedWriter
from citywitness.storage.store import ContentStore
from tests.storage.conftest import CHUNK, Rest, pattern, sha

UPLOAD = "tus-upload-0001"


async def test_resume_after_a_crash_completes_with_the_right_hash(
    store: ContentStore, rest: Rest
) -> None:
    data = pattern(10 * CHUNK + 123, seed=5)
    writer = await store.open_writer(upload_id=UPLOAD, info={"filename": "a.mp4"})
    await writer.write(data[:4321])
    await writer.write(data[4321 : 5 * CHUNK + 7])
    assert await writer.checkpoint() == 5 * CHUNK + 7
    await writer.write(data[5 * CHUNK + 7 : 8 * CHUNK])  # received but never acknowledged
    del writer  # the process dies: nothing is closed or flushed

    state = await store.partial(UPLOAD)
    assert (state.offset, state.chunks, state.epoch, state.info) == (
        5 * CHUNK + 7,
        5,
        0,
        {"filename": "a.mp4"},
    )
    resumed = await store.resume_writer(UPLOAD)
    assert resumed.offset == 5 * CHUNK + 7
    assert resumed.info == {"filename": "a.mp4"}
    await resumed.write(data[5 * CHUNK + 7 :])
    stored = await resumed.finish(expected_sha256=sha(data))
    assert stored.sha256 == sha(data)
    assert await store.read_all(stored.sha256) == data
    assert list(store.staging_dir.iterdir()) == []
    assert rest.names() == [blob_name(stored.sha256, stored.object_id)]


async def test_resumed_chunks_are_sealed_under_a_new_epoch(store: ContentStore, rest: Rest) -> None:
    first, second = pattern(6 * CHUNK, seed=6), pattern(6 * CHUNK, seed=7)
    writer = await store.open_writer(upload_id=UPLOAD)
    await writer.write(first[: 2 * CHUNK + 10])
    await writer.checkpoint()
    await writer.write(first[2 * CHUNK + 10 :])  # chunks 2..4 sealed at epoch 0, then lost
    resumed = await store.resume_writer(UPLOAD)
    await resumed.write(second[2 * CHUNK + 10 :])  # different bytes for the same offsets
    stored = await resumed.finish()
    data = first[: 2 * CHUNK + 10] + second[2 * CHUNK + 10 :]
    assert stored.sha256 == sha(data)
    raw = rest.get(blob_name(stored.sha256, stored.object_id))
    epochs = [
        struct.unpack_from(">I", raw, HEADER_BYTES + i * (CHUNK + FRAME_OVERHEAD))[0]
        for i in range(6)
    ]
    assert epochs == [0, 0, 1, 1, 1, 1]
    assert await store.read_all(stored.sha256) == data


async def test_second_crash_moves_to_yet_another_epoch(store: ContentStore) -> None:
    data = pattern(3 * CHUNK, seed=8)
    writer = await store.open_writer(upload_id=UPLOAD)
    await writer.write(data[:100])
    await writer.checkpoint()
    await store.resume_writer(UPLOAD)
    resumed = await store.resume_writer(UPLOAD)
    assert (await store.partial(UPLOAD)).epoch == 2
    await resumed.write(data[100:])
    assert (await resumed.finish()).sha256 == sha(data)


async def test_crash_between_seal_and_store_resumes_sealed(store: ContentStore, rest: Rest) -> None:
    data = pattern(2 * CHUNK + 1, seed=9)
    writer = await store.open_writer(upload_id=UPLOAD)
    await writer.write(data)
    await writer.checkpoint()
    core = StagedWriter.resume(store.staging_dir, UPLOAD, store.wrapper)
    core.seal()  # the crash hits right after sealing
    resumed = await store.resume_writer(UPLOAD)
    assert resumed.offset == len(data)
    with pytest.raises(WriterClosed):
        await resumed.write(b"more")
    stored = await resumed.finish()
    assert await store.read_all(stored.sha256) == data


async def test_crash_between_bytes_stored_and_key_recorded(store: ContentStore, rest: Rest) -> None:
    data = pattern(CHUNK + 5, seed=10)
    writer = await store.open_writer(upload_id=UPLOAD)
    await writer.write(data)
    await writer.checkpoint()
    core = StagedWriter.resume(store.staging_dir, UPLOAD, store.wrapper)
    sealed = core.seal()
    name = blob_name(sealed.sha256, uuid.UUID(bytes=core.state.object_id))
    store.backend.put_file(name, core.blob_path)  # bytes stored, then the crash
    assert await store.exists(sealed.sha256) is False  # not readable: no key yet
    resumed = await store.resume_writer(UPLOAD)
    stored = await resumed.finish()
    assert stored.sha256 == sealed.sha256
    assert rest.names() == [name]
    assert await store.read_all(stored.sha256) == data


async def test_partial_uploads_keep_no_plaintext_at_rest(store: ContentStore) -> None:
    marker = b"PLAINTEXT-MARKER-IN-A-TAIL"
    writer = await store.open_writer(upload_id=UPLOAD)
    await writer.write(marker * 500)  # 13 000 bytes: 3 chunks sealed, the rest in the tail
    await writer.checkpoint()
    for path in (store.staging_dir / UPLOAD).iterdir():
        assert marker[:10] not in path.read_bytes(), path.name
    await writer.abort()


async def test_upload_ids_are_checked(store: ContentStore) -> None:
    for bad in ["short", "../../../../etc", "a" * 65, "bad id with spaces"]:
        with pytest.raises(InvalidUploadId) as caught:
            await store.open_writer(upload_id=bad)
        assert caught.value.status == 400
    assert not store.staging_dir.exists() or list(store.staging_dir.iterdir()) == []
    writer = await store.open_writer(upload_id=UPLOAD)
    with pytest.raises(UploadExists):
        await store.open_writer(upload_id=UPLOAD)
    await writer.abort()
    with pytest.raises(UploadNotFound):
        await store.resume_writer(UPLOAD)
    with pytest.raises(UploadNotFound):
        await store.partial(UPLOAD)


async def test_lost_staging_blob_is_an_integrity_failure(store: ContentStore) -> None:
    writer = await store.open_writer(upload_id=UPLOAD)
    await writer.write(b"x" * 100)
    await writer.checkpoint()
    (store.staging_dir / UPLOAD / BLOB).unlink()
    with pytest.raises(Exception, match="lost its blob"):
        await store.resume_writer(UPLOAD)
