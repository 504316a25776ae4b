"""The scrub: resumable, rate-limited, with progress; orphans, strays and the sweep."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from citywitness.kit.clock import utcnow
from citywitness.storage.backend import blob_name
from citywitness.storage.scrub import CheckIssue, CheckProgress, Throttle, check, sweep
from citywitness.storage.store import ContentStore
from tests.storage.conftest import CHUNK, Rest, pattern, put

LATER = timedelta(days=2)


async def _three(store: ContentStore) -> list[str]:
    return sorted([(await put(store, pattern(CHUNK + i, seed=i))).sha256 for i in range(3)])


async def test_clean_store_passes_with_progress(store: ContentStore) -> None:
    shas = await _three(store)
    seen: list[CheckProgress] = []
    report = await check(store, progress=seen.append)
    assert report.ok
    assert report.complete
    assert (report.objects, report.cursor) == (3, shas[-1])
    assert report.bytes == 3 * CHUNK + 3
    assert [(p.objects, p.cursor, p.total_objects) for p in seen] == [
        (1, shas[0], 3),
        (2, shas[1], 3),
        (3, shas[2], 3),
    ]


async def test_check_resumes_from_its_cursor(store: ContentStore, rest: Rest) -> None:
    shas = await _three(store)
    first = await check(store, max_objects=2)
    assert (first.objects, first.cursor, first.complete) == (2, shas[1], False)
    records = {sha: await store.keys.get(sha) for sha in shas}
    victim = records[shas[0]]
    assert victim is not None
    name = blob_name(victim.sha256, victim.object_id)
    raw = rest.get(name)
    rest.put(name, raw[:-1] + bytes([raw[-1] ^ 1]))  # damage one the next run won't see
    second = await check(store, cursor=first.cursor)
    assert (second.objects, second.cursor, second.complete, second.ok) == (1, shas[2], True, True)
    again = await check(store)
    assert [(i.kind, i.sha256) for i in again.issues] == [("corrupt", shas[0])]


async def test_throttle_sleeps_to_hold_the_rate() -> None:
    clock = [100.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    throttle = Throttle(1000, clock=lambda: clock[0], sleep=fake_sleep)
    await throttle(500)
    await throttle(1500)
    clock[0] += 10
    await throttle(100)
    assert slept == [0.5, 1.5]
    await Throttle(None, clock=lambda: clock[0], sleep=fake_sleep)(10**9)
    assert slept == [0.5, 1.5]


async def test_rate_limited_check_reports_bytes_to_the_throttle(
    store: ContentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _three(store)
    reported: list[int] = []
    original = Throttle.__call__

    async def spy(self: Throttle, nbytes: int) -> None:
        reported.append(nbytes)
        await original(self, nbytes)

    monkeypatch.setattr(Throttle, "__call__", spy)
    report = await check(store, rate_bytes_per_second=10**12)
    assert report.ok
    assert sorted(reported) == [CHUNK, CHUNK + 1, CHUNK + 2]


async def test_orphans_and_strays_are_reported_then_swept(store: ContentStore, rest: Rest) -> None:
    kept = await put(store, b"referenced evidence")
    orphan = await put(store, b"bytes whose key was never recorded")
    orphan_name = blob_name(orphan.sha256, orphan.object_id)
    orphan_bytes = rest.get(orphan_name)
    await store.destroy(orphan.sha256)
    rest.put(orphan_name, orphan_bytes)  # as if the delete after the shred had failed
    stray = "ab/cd/not-ours.txt"
    rest.put(stray, b"left by someone else")

    assert (await check(store)).issues == []  # all too young to call orphans
    report = await check(store, now=utcnow() + LATER)
    assert report.issues == [
        CheckIssue("orphan", orphan.sha256, "no live key record owns it", orphan_name),
        CheckIssue("stray", None, "not a blob this store wrote", stray),
    ]

    async def referenced(shas: Sequence[str]) -> set[str]:
        return {kept.sha256}

    swept = await sweep(store, is_referenced=referenced, now=utcnow() + LATER)
    assert swept.deleted_blobs == [orphan_name]
    assert swept.destroyed == []
    assert sorted(rest.names()) == sorted([blob_name(kept.sha256, kept.object_id), stray])


async def test_unreferenced_objects_are_reported_and_shredded(
    store: ContentStore, rest: Rest
) -> None:
    kept = await put(store, b"in an evidence record")
    dropped = await put(store, b"never referenced")
    asked: list[list[str]] = []

    async def referenced(shas: Sequence[str]) -> set[str]:
        asked.append(sorted(shas))
        return {kept.sha256} & set(shas)

    report = await check(store, is_referenced=referenced, now=utcnow() + LATER)
    assert report.issues == [CheckIssue("unreferenced", dropped.sha256, "no record uses it")]
    assert (await check(store, is_referenced=referenced)).issues == []  # within the grace
    swept = await sweep(store, is_referenced=referenced, now=utcnow() + LATER)
    assert swept.destroyed == [dropped.sha256]
    assert rest.names() == [blob_name(kept.sha256, kept.object_id)]
    assert await store.exists(dropped.sha256) is False
    assert await store.read_all(kept.sha256) == b"in an evidence record"


async def test_sweep_expires_stale_partial_uploads(store: ContentStore) -> None:
    stale = await store.open_writer(upload_id="stale-upload")
    await stale.write(b"abandoned")
    await stale.checkpoint()
    (store.staging_dir / "not-an-upload!").mkdir()

    async def nothing(shas: Sequence[str]) -> set[str]:
        return set()

    fresh = await sweep(store, is_referenced=nothing, upload_max_age=timedelta(hours=1))
    assert fresh.expired_uploads == []
    later = await sweep(
        store, is_referenced=nothing, upload_max_age=timedelta(hours=1), now=utcnow() + LATER
    )
    assert later.expired_uploads == ["stale-upload"]
    assert [p.name for p in store.staging_dir.iterdir()] == ["not-an-upload!"]
