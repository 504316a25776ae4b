"""Capacity: a write that would not fit is refused (507) before anything is written."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from citywitness.storage.errors import InsufficientStorage
from citywitness.storage.format import stored_size
from citywitness.storage.store import ContentStore
from tests.storage.conftest import CHUNK, Rest, put


async def test_usage_counts_live_objects(store: ContentStore) -> None:
    assert (await store.usage()).objects == 0
    a = await put(store, b"a" * 5000)
    b = await put(store, b"b" * 10)
    usage = await store.usage()
    assert (usage.objects, usage.bytes) == (2, 5010)
    assert usage.stored_bytes == a.stored_size + b.stored_size
    await store.destroy(a.sha256)
    assert (await store.usage()).bytes == 10


async def test_cap_on_stored_bytes_refuses_up_front(
    make_store: Callable[..., ContentStore], rest: Rest
) -> None:
    store = make_store(max_bytes=stored_size(10_000, CHUNK))
    await store.ensure_capacity(10_000)
    with pytest.raises(InsufficientStorage) as caught:
        await store.open_writer(upload_id="too-big-upload", expected_size=10_001)
    assert caught.value.status == 507
    assert caught.value.code == "insufficient_storage"
    assert caught.value.fields == {
        "needed": stored_size(10_001, CHUNK),
        "free": stored_size(10_000, CHUNK),
    }
    assert not store.staging_dir.exists() or list(store.staging_dir.iterdir()) == []
    assert rest.names() == []


async def test_open_uploads_hold_their_reservation_until_done(
    make_store: Callable[..., ContentStore],
) -> None:
    store = make_store(max_bytes=stored_size(6000, CHUNK) + stored_size(0, CHUNK))
    first = await store.open_writer(expected_size=6000)
    with pytest.raises(InsufficientStorage):
        await store.open_writer(expected_size=6000)
    await first.abort()
    second = await store.open_writer(expected_size=6000)
    await second.write(b"x" * 6000)
    await second.finish()
    with pytest.raises(InsufficientStorage):
        await store.open_writer(expected_size=6000)


async def test_local_disk_free_space_is_checked(
    make_store: Callable[..., ContentStore], tmp_path: Path
) -> None:
    free = shutil.disk_usage(tmp_path).free
    store = make_store(min_free_bytes=free + 1)
    with pytest.raises(InsufficientStorage) as caught:
        await store.ensure_capacity(1)
    assert caught.value.fields is not None
    assert caught.value.fields["needed"] == stored_size(1, CHUNK)
