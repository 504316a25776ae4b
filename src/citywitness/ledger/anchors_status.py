"""How the outside-check jobs (time stamps, anchors) are doing, and what /readyz says.

Each job keeps one row in `ledger_anchoring_status`.  /readyz reports a job as:
- "ok" while it succeeds;
- "ok: off (...)" when it is not configured (not a failure);
- "ok: degraded (...)" while it fails but its last success (or, if it never succeeded,
  its first failure) is younger than the configured staleness: retries may still win;
- failing, with the reason, once that staleness is passed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.health import Check
from citywitness.ledger.anchors_models import AnchoringStatus

TIMESTAMPS_JOB = "timestamps"
MAX_ERROR = 500


def anchor_job(name: str) -> str:
    return f"anchor:{name}"


async def record_success(db: Database, job: str, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    values = {
        "job": job,
        "last_attempt_at": now,
        "last_success_at": now,
        "failing_since": None,
        "failures": 0,
        "last_error": None,
    }
    statement = insert(AnchoringStatus).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[AnchoringStatus.job],
        set_={k: statement.excluded[k] for k in values if k != "job"},
    )
    async with db.transaction() as session:
        await session.execute(statement)


async def record_failure(
    db: Database, job: str, error: str, *, now: datetime | None = None
) -> None:
    """Note a failed run in a transaction of its own (the run's own was rolled back)."""
    now = now or utcnow()
    values = {
        "job": job,
        "last_attempt_at": now,
        "last_success_at": None,
        "failing_since": now,
        "failures": 1,
        "last_error": error[:MAX_ERROR],
    }
    statement = insert(AnchoringStatus).values(values)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[AnchoringStatus.job],
        set_={
            "last_attempt_at": excluded.last_attempt_at,
            "failing_since": func.coalesce(AnchoringStatus.failing_since, excluded.failing_since),
            "failures": AnchoringStatus.failures + 1,
            "last_error": excluded.last_error,
        },
    )
    async with db.transaction() as session:
        await session.execute(statement)


def _ago(moment: datetime, now: datetime) -> str:
    minutes = int((now - moment).total_seconds() // 60)
    return "just now" if minutes < 1 else f"{minutes} min ago"


def describe(
    status: AnchoringStatus | None, *, stale_after: timedelta, now: datetime
) -> str | None:
    """The readiness line for one job (None: healthy)."""
    if status is None:
        return "ok: no run yet"
    if status.failing_since is None:
        return None
    since = status.failing_since.isoformat(timespec="seconds")
    last = _ago(status.last_success_at, now) if status.last_success_at else "never"
    what = (
        f"failing since {since} (failed runs: {status.failures}; last error: "
        f"{status.last_error}); last success {last}"
    )
    reference = status.last_success_at or status.failing_since
    if now - reference < stale_after:
        return f"ok: degraded, {what}"
    return what


def status_readiness(
    db: Database,
    jobs: Callable[[], list[str]],
    *,
    stale_after: timedelta,
    off_reason: str,
    clock: Callable[[], datetime] = utcnow,
) -> Check:
    """A readiness check over the jobs named by `jobs()` (none: off, with `off_reason`)."""

    async def check() -> str | None:
        names = jobs()
        if not names:
            return f"ok: off ({off_reason})"
        async with db.transaction() as session:
            rows = await session.scalars(
                select(AnchoringStatus).where(AnchoringStatus.job.in_(names))
            )
            found = {row.job: row for row in rows}
        now = clock()
        problems = []
        for name in names:
            line = describe(found.get(name), stale_after=stale_after, now=now)
            if line is not None:
                problems.append((name, line))
        if not problems:
            return None
        failing = [f"{n}: {line}" for n, line in problems if not line.startswith("ok")]
        if failing:
            return "; ".join(failing)
        return "ok: " + "; ".join(f"{n}: {line.removeprefix('ok: ')}" for n, line in problems)

    return check
