"""Retention of recorded events: `alerts:purge_events` deletes old events that every
consumer of their topic has passed, and nothing a consumer still needs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.alerts import tasks as alerts_tasks
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.events import Consumer, Event, consume_once, purge, record
from citywitness.kit.jobs import defer
from tests.jobs.conftest import RunOnce
from tests.jobs.helpers import rows

OLD = timedelta(days=10)  # beyond the default retention (72 h)


async def _ignore(_session: AsyncSession, _events: list[Event]) -> None:
    return None


def _consumer(name: str, topics: tuple[str, ...], batch: int) -> Consumer:
    return Consumer(name=name, topics=topics, handle=_ignore, batch_size=batch)


async def _record(db: Database, topic: str, source: str, *, age: timedelta | None) -> None:
    async with db.transaction() as session:
        await record(session, topic, source, {"source": source})
        if age is not None:
            await session.execute(
                text("UPDATE event_outbox SET recorded_at = now() - :age WHERE source_id = :s"),
                {"age": age, "s": source},
            )


async def _left(db: Database) -> list[str]:
    found = await rows(db, "SELECT source_id FROM event_outbox ORDER BY id")
    return [r[0] for r in found]


async def _scene(db: Database) -> None:
    """e1..e4 old, e5 recent; `a` passed every t.a event, `b` only e1 and e2."""
    await _record(db, "t.a", "e1", age=OLD)
    await _record(db, "t.b", "e2", age=OLD)
    await _record(db, "t.a", "e3", age=OLD)
    await _record(db, "t.none", "e4", age=OLD)  # no consumer reads it
    await _record(db, "t.a", "e5", age=None)
    assert await consume_once(db, _consumer("a", ("t.a",), 10)) == 3
    assert await consume_once(db, _consumer("b", ("t.a", "t.b"), 2)) == 2


async def test_purge_keeps_what_a_consumer_still_needs(jobs_db: Database) -> None:
    await _scene(jobs_db)
    consumers = await rows(jobs_db, "SELECT name, topics FROM event_consumers ORDER BY name")
    assert consumers == [("a", ["t.a"]), ("b", ["t.a", "t.b"])]
    cutoff = utcnow() - timedelta(hours=72)
    async with jobs_db.transaction() as session:
        assert await purge(session, cutoff=cutoff, limit=1) == 1  # in batches
    async with jobs_db.transaction() as session:
        assert await purge(session, cutoff=cutoff, limit=100) == 1
    async with jobs_db.transaction() as session:
        assert await purge(session, cutoff=cutoff, limit=100) == 0
    # e3: `b` has not handled it; e4: nobody claimed its topic; e5: too recent
    assert await _left(jobs_db) == ["e3", "e4", "e5"]

    assert await consume_once(jobs_db, _consumer("b", ("t.a", "t.b"), 10)) == 2
    async with jobs_db.transaction() as session:
        assert await purge(session, cutoff=cutoff, limit=100) == 1
    assert await _left(jobs_db) == ["e4", "e5"]


async def test_a_consumer_without_known_topics_holds_everything_back(jobs_db: Database) -> None:
    await _scene(jobs_db)
    async with jobs_db.transaction() as session:  # a row from before topics were recorded
        await session.execute(
            text("INSERT INTO event_consumers (name, last_xid, last_id) VALUES ('old', 0, 0)")
        )
    async with jobs_db.transaction() as session:
        assert await purge(session, cutoff=utcnow(), limit=100) == 0
    assert await _left(jobs_db) == ["e1", "e2", "e3", "e4", "e5"]
    # its next claim records its topics: then only what it has not passed is kept
    assert await consume_once(jobs_db, _consumer("old", ("t.b",), 10)) == 1
    async with jobs_db.transaction() as session:
        assert await purge(session, cutoff=utcnow() - timedelta(hours=72), limit=100) == 2
    assert await _left(jobs_db) == ["e3", "e4", "e5"]


async def test_the_hourly_job_purges(jobs_db: Database, run_once: RunOnce) -> None:
    await _scene(jobs_db)
    async with jobs_db.transaction() as session:
        await defer(session, alerts_tasks.purge_events_job)
    await run_once(("maintenance",))
    assert await _left(jobs_db) == ["e3", "e4", "e5"]
    done = await rows(
        jobs_db,
        "SELECT status FROM procrastinate_jobs WHERE task_name = 'alerts:purge_events'",
    )
    assert done == [("succeeded",)]
