"""Daily partitions of `device_positions` (PostgreSQL declarative range partitioning on `at`).

Partition `device_positions_pYYYYMMDD` holds [day 00:00 UTC, next day 00:00 UTC).  The
maintenance job creates them `partitions_ahead_days` ahead and drops those older than
`positions_retention_days`; `ensure_partitions` creates a missing one on demand (a
recorder's buffered positions from yesterday, a partition the job has not made yet).

A new partition is created empty and then ATTACHed, which takes only SHARE UPDATE
EXCLUSIVE on the parent, so inserts into other partitions carry on meanwhile.  One
advisory lock serialises creators; a process remembers partitions it has seen committed
(never one created by a transaction that may still roll back, nor one seen from inside a
savepoint).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PARENT = "device_positions"
PREFIX = "device_positions_p"
_NAME_RE = re.compile(r"^device_positions_p(\d{8})$")
_LOCK_KEY = 0x63770010  # "cw" + migration 0010: partition DDL
_SESSION_KEY = "cw_device_partitions_created"

# Per database (a process normally has one; tests and tools may use several).
_known: dict[str, set[date]] = {}


def partition_name(day: date) -> str:
    return f"{PREFIX}{day:%Y%m%d}"


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()


def forget_known_partitions() -> None:
    """Forget which partitions exist (tests that drop them; a restored database)."""
    _known.clear()


def _known_in(session: AsyncSession) -> set[date]:
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return _known.setdefault(url, set())


async def _exists(session: AsyncSession, name: str) -> bool:
    found = await session.execute(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name})
    return bool(found.scalar_one())


async def _create(session: AsyncSession, day: date) -> None:
    name = partition_name(day)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    # Names and bounds are built from a date, never from input text.
    await session.execute(
        text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    )
    await session.execute(
        text(
            f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )


async def ensure_partitions(session: AsyncSession, days: Iterable[date]) -> list[date]:
    """Make sure a partition exists for each day; the days this call created."""
    created_here: set[date] = session.info.setdefault(_SESSION_KEY, set())
    known = _known_in(session)
    missing = sorted({d for d in days if d not in known and d not in created_here})
    if not missing:
        return []
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    # Inside a savepoint (tests run so), what exists now may be rolled back by an outer
    # transaction this process does not see: remember nothing then.
    nested = (await session.connection()).in_nested_transaction()
    created: list[date] = []
    for day in missing:
        if await _exists(session, partition_name(day)):
            if not nested:
                known.add(day)
            continue
        await _create(session, day)
        created_here.add(day)
        created.append(day)
    return created


async def existing_partitions(session: AsyncSession) -> list[date]:
    """Days that have a partition, oldest first."""
    rows = await session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :parent"
        ),
        {"parent": PARENT},
    )
    days = []
    for (name,) in rows:
        match = _NAME_RE.match(name)
        if match:
            days.append(datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC).date())
    return sorted(days)


async def drop_partitions_before(session: AsyncSession, cutoff: date) -> list[date]:
    """Drop the partitions of days before `cutoff` (retention); the days dropped."""
    dropped = []
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    for day in await existing_partitions(session):
        if day >= cutoff:
            break
        name = partition_name(day)
        await session.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {name}"))
        await session.execute(text(f"DROP TABLE {name}"))
        _known_in(session).discard(day)
        dropped.append(day)
    return dropped


async def maintain_partitions(
    session: AsyncSession, *, today: date, ahead_days: int, retention_days: int
) -> tuple[list[date], list[date]]:
    """Create today's and the next `ahead_days` partitions; drop expired ones (0: keep all)."""
    created = await ensure_partitions(
        session, (today + timedelta(days=n) for n in range(-1, ahead_days + 1))
    )
    dropped: list[date] = []
    if retention_days > 0:
        dropped = await drop_partitions_before(session, today - timedelta(days=retention_days))
    return created, dropped
