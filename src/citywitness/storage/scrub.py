"""Integrity scrub and orphan sweep.

`check` re-decrypts and re-hashes every live object (resumable from a cursor, rate-limited,
with a progress callback) and reports objects whose bytes changed at rest (an AEAD tag or
the header MAC fails), decrypt but hash wrong, are missing, or whose key cannot be
unwrapped; then blobs that no live key record owns (orphans) and, given an "is referenced"
predicate, live objects nothing references.  `sweep` removes the orphans and crypto-shreds
the unreferenced objects once they are older than a grace period.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from citywitness.kit.clock import utcnow
from citywitness.storage.backend import blob_name, parse_blob_name
from citywitness.storage.errors import (
    HashMismatch,
    IntegrityFailure,
    KeyDestroyed,
    KeyUnavailable,
    ObjectNotFound,
)
from citywitness.storage.keystore import KeyRecord
from citywitness.storage.reading import ObjectMissing
from citywitness.storage.staging import CHECKPOINT, UPLOAD_ID
from citywitness.storage.store import ContentStore

Referenced = Callable[[Sequence[str]], Awaitable[set[str]]]
"""Given SHA-256s, the subset that evidence records reference (the evidence layer's side)."""

IssueKind = Literal[
    "corrupt", "hash_mismatch", "missing", "key_unavailable", "orphan", "stray", "unreferenced"
]
DEFAULT_GRACE = timedelta(hours=24)
PAGE = 500


@dataclass(frozen=True)
class CheckIssue:
    kind: IssueKind
    sha256: str | None
    detail: str
    name: str | None = None


@dataclass(frozen=True)
class CheckProgress:
    objects: int
    bytes: int
    total_objects: int
    total_bytes: int
    cursor: str | None


@dataclass
class CheckReport:
    """What one `check` run saw; pass `cursor` to the next run when `complete` is false."""

    objects: int = 0
    bytes: int = 0
    issues: list[CheckIssue] = field(default_factory=list)
    cursor: str | None = None
    complete: bool = False

    @property
    def ok(self) -> bool:
        return not self.issues


class Throttle:
    """Sleeps so that bytes reported stay under `rate` per second (None: no limit)."""

    def __init__(
        self,
        rate: int | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self.started = clock()
        self.done = 0

    async def __call__(self, nbytes: int) -> None:
        self.done += nbytes
        if self.rate:
            ahead = self.done / self.rate - (self._clock() - self.started)
            if ahead > 0:
                await self._sleep(ahead)


async def _verify_one(
    store: ContentStore, record: KeyRecord, throttle: Throttle
) -> CheckIssue | None:
    sha = record.sha256
    try:
        await store.verify(sha, throttle)
    except (KeyDestroyed, ObjectNotFound):
        return None  # destroyed while the scrub ran: nothing left to check
    except ObjectMissing:
        return CheckIssue("missing", sha, "the key record exists but the bytes are gone")
    except HashMismatch as exc:
        return CheckIssue("hash_mismatch", sha, exc.detail)
    except IntegrityFailure as exc:
        return CheckIssue("corrupt", sha, exc.detail)
    except KeyUnavailable as exc:
        return CheckIssue("key_unavailable", sha, exc.detail)
    return None


async def check(
    store: ContentStore,
    *,
    cursor: str | None = None,
    max_objects: int | None = None,
    rate_bytes_per_second: int | None = None,
    progress: Callable[[CheckProgress], None] | None = None,
    orphans: bool = True,
    is_referenced: Referenced | None = None,
    grace: timedelta = DEFAULT_GRACE,
    now: datetime | None = None,
) -> CheckReport:
    """Scrub live objects in SHA-256 order after `cursor`; then look for orphans."""
    report = CheckReport(cursor=cursor)
    usage = await store.usage()
    throttle = Throttle(rate_bytes_per_second)
    while True:
        page = await store.keys.page(report.cursor, PAGE)
        for record in page:
            if max_objects is not None and report.objects >= max_objects:
                return report
            issue = await _verify_one(store, record, throttle)
            if issue is not None:
                report.issues.append(issue)
            report.objects += 1
            report.bytes += record.size
            report.cursor = record.sha256
            if progress is not None:
                done = CheckProgress(
                    report.objects, report.bytes, usage.objects, usage.bytes, report.cursor
                )
                progress(done)
        if len(page) < PAGE:
            break
    report.complete = True
    cutoff = (now or utcnow()) - grace
    if orphans:
        report.issues.extend(await _orphan_issues(store, cutoff))
    if is_referenced is not None:
        for record in await find_unreferenced(store, is_referenced, cutoff):
            report.issues.append(CheckIssue("unreferenced", record.sha256, "no record uses it"))
    return report


async def _orphan_issues(store: ContentStore, cutoff: datetime) -> list[CheckIssue]:
    issues = []
    for name, sha in await find_orphans(store, cutoff):
        if sha is None:
            issues.append(CheckIssue("stray", None, "not a blob this store wrote", name))
        else:
            issues.append(CheckIssue("orphan", sha, "no live key record owns it", name))
    return issues


async def find_orphans(store: ContentStore, cutoff: datetime) -> list[tuple[str, str | None]]:
    """Blobs older than `cutoff` that no live key record owns: (name, sha256 or None)."""
    found: list[tuple[str, str | None]] = []
    after: str | None = None
    while True:
        blobs = await asyncio.to_thread(store.backend.list_page, after, PAGE)
        parsed = [(blob, parse_blob_name(blob.name)) for blob in blobs]
        shas = [ids[0] for _, ids in parsed if ids is not None]
        records = await store.keys.get_many(shas)
        for blob, ids in parsed:
            if blob.modified >= cutoff:
                continue  # maybe a write between "bytes stored" and "key recorded"
            if ids is None:
                found.append((blob.name, None))
                continue
            record = records.get(ids[0])
            if record is None or record.destroyed or record.object_id != ids[1]:
                found.append((blob.name, ids[0]))
        if len(blobs) < PAGE:
            return found
        after = blobs[-1].name


async def find_unreferenced(
    store: ContentStore, is_referenced: Referenced, cutoff: datetime
) -> list[KeyRecord]:
    """Live objects created before `cutoff` that `is_referenced` does not claim."""
    found: list[KeyRecord] = []
    after: str | None = None
    while True:
        page = await store.keys.page(after, PAGE)
        old = [record for record in page if record.created_at < cutoff]
        referenced = await is_referenced([record.sha256 for record in old]) if old else set()
        found.extend(record for record in old if record.sha256 not in referenced)
        if len(page) < PAGE:
            return found
        after = page[-1].sha256


@dataclass
class SweepReport:
    deleted_blobs: list[str] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    expired_uploads: list[str] = field(default_factory=list)


async def sweep(
    store: ContentStore,
    *,
    is_referenced: Referenced,
    grace: timedelta = DEFAULT_GRACE,
    upload_max_age: timedelta | None = None,
    now: datetime | None = None,
) -> SweepReport:
    """Delete orphan blobs, crypto-shred unreferenced objects, expire stale partial uploads.

    Only what is older than `grace` is touched; blobs this store did not write are left.
    """
    now = now or utcnow()
    report = SweepReport()
    for name, sha in await find_orphans(store, now - grace):
        if sha is not None:
            await asyncio.to_thread(store.backend.delete, name)
            report.deleted_blobs.append(name)
    for record in await find_unreferenced(store, is_referenced, now - grace):
        sha = record.sha256

        async def referenced_now(sha: str = sha) -> bool:
            return sha in await is_referenced([sha])

        destroyed = await store.destroy(sha, unless=referenced_now)
        if destroyed.destroyed:
            report.destroyed.append(sha)
            report.deleted_blobs.append(blob_name(sha, record.object_id))
    if upload_max_age is not None:
        report.expired_uploads = await asyncio.to_thread(
            _expire_uploads, store, now - upload_max_age
        )
    return report


def _expire_uploads(store: ContentStore, cutoff: datetime) -> list[str]:
    expired: list[str] = []
    if not store.staging_dir.exists():
        return expired
    for directory in sorted(store.staging_dir.iterdir()):
        if not UPLOAD_ID.match(directory.name) or not directory.is_dir():
            continue
        checkpoint = directory / CHECKPOINT
        last_activity = checkpoint if checkpoint.exists() else directory
        touched = datetime.fromtimestamp(last_activity.stat().st_mtime, UTC)
        if touched < cutoff:
            shutil.rmtree(directory, ignore_errors=True)
            expired.append(directory.name)
    return expired
