"""The durable consumer: order by transaction, never skipping a late commit, surviving SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from citywitness.alerts.models import Alert, AlertEvent, AlertTrigger
from citywitness.kit import events
from citywitness.kit.db import Database
from citywitness.kit.events import Consumer, Event, consume_once
from tests.alerts.helpers import count
from tests.devices.helpers import make_recorder


def _collector(seen: list[str]) -> Consumer:
    async def handle(_session: object, batch: list[Event]) -> None:
        seen.extend(e.source_id for e in batch)

    return Consumer(name="test", topics=("test.topic",), handle=handle, batch_size=10)  # type: ignore[arg-type]


async def test_a_late_commit_is_not_skipped(committed_db: Database) -> None:
    seen: list[str] = []
    consumer = _collector(seen)
    early = committed_db.sessionmaker()
    await events.record(early, "test.topic", "early", {})  # its transaction stays open
    async with committed_db.transaction() as session:
        await events.record(session, "test.topic", "late", {})
    assert await consume_once(committed_db, consumer) == 0  # `late` waits behind `early`
    async with committed_db.transaction() as session:
        assert await events.waiting_beyond_horizon(session, "test", consumer.topics)
    await early.commit()
    await early.close()
    assert await consume_once(committed_db, consumer) == 2
    assert seen == ["early", "late"]
    assert await consume_once(committed_db, consumer) == 0


async def test_a_held_consumer_is_skipped_not_run_twice(committed_db: Database) -> None:
    seen: list[str] = []
    consumer = _collector(seen)
    assert await consume_once(committed_db, consumer) == 0  # the consumer's row exists
    async with committed_db.transaction() as session:
        await events.record(session, "test.topic", "one", {})
    async with committed_db.transaction() as holder:
        assert await events.claim(holder, "test", consumer.topics, 10) is not None
        assert await consume_once(committed_db, consumer) is None
    assert await consume_once(committed_db, consumer) == 1
    assert seen == ["one"]


async def test_a_failing_batch_leaves_its_events_for_next_time(committed_db: Database) -> None:
    async def fail(_session: object, _batch: list[Event]) -> None:
        raise RuntimeError("boom")

    async with committed_db.transaction() as session:
        await events.record(session, "test.topic", "one", {})
    broken = Consumer(name="test", topics=("test.topic",), handle=fail)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await consume_once(committed_db, broken)
    seen: list[str] = []
    assert await consume_once(committed_db, _collector(seen)) == 1
    assert seen == ["one"]


CONSUMER_SCRIPT = """
import asyncio, sys
import citywitness.schema  # every model, as in serve
from citywitness.alerts import raising
from citywitness.kit.db import Database
from citywitness.kit.events import ConsumerRunner

async def main():
    db = Database(sys.argv[1])
    await ConsumerRunner(db, [raising.consumer(batch_size=5)], poll_seconds=0.2).run()

asyncio.run(main())
"""


async def _wait_for(
    db: Database, model: object, at_least: int, seconds: float, process: subprocess.Popen[bytes]
) -> int:
    deadline = time.monotonic() + seconds
    found = 0
    while time.monotonic() < deadline and process.poll() is None:
        found = await count(db, model)
        if found >= at_least:
            return found
        await asyncio.sleep(0.05)
    return found


async def test_sigkill_mid_way_loses_and_duplicates_nothing(committed_db: Database) -> None:
    """A consumer process killed mid-way, then restarted: every SOS counted exactly once."""
    recorders = [await make_recorder(committed_db) for _ in range(20)]
    async with committed_db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO device_events (id, recorder_id, department_id, kind, source, at,"
                " received_at, details)"
                " SELECT gen_random_uuid(), r.id, r.department_id, 'sos', 'device',"
                " now() - (n || ' ms')::interval, now(), '{}'::jsonb"
                " FROM recorders r CROSS JOIN generate_series(1, 30) AS n"
                " WHERE r.id = ANY(:ids)"
            ),
            {"ids": [r.id for r in recorders]},
        )
    total = 20 * 30
    first = subprocess.Popen(  # noqa: ASYNC220 - the process under test
        [sys.executable, "-c", CONSUMER_SCRIPT, committed_db.url], env=dict(os.environ)
    )
    try:
        done = await _wait_for(committed_db, AlertTrigger, 60, 60, first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert 60 <= done < total, "killed mid-way"
    second = subprocess.Popen(  # noqa: ASYNC220 - the process under test
        [sys.executable, "-c", CONSUMER_SCRIPT, committed_db.url]
    )
    try:
        assert await _wait_for(committed_db, AlertTrigger, total, 120, second) == total
    finally:
        second.terminate()
        second.wait(10)
    assert await count(committed_db, Alert) == 20
    assert await count(committed_db, AlertEvent) == total  # 20 raised + 580 repeated
    async with committed_db.transaction() as session:
        occurrences = await session.scalar(text("SELECT sum(occurrences) FROM alerts"))
    assert occurrences == total
