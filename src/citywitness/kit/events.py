"""Recorded events and durable consumers: the transactional outbox of the platform.

A domain records an event (`record`, or a trigger in its migration) in the same transaction
as the change it reports: a row in `event_outbox` plus `NOTIFY cw_events`.  A consumer (a
name) keeps its position in `event_consumers` and advances it in the same transaction as
the effects of the events it handled, so a crash never loses an event and never applies
one twice.  Consumers do not import the producers: siblings talk through recorded events.

Order and the horizon.  Identity values are taken when a row is inserted, not when its
transaction commits, so "every id above my position" would skip a row whose transaction
commits after a later one.  Each row therefore carries its transaction id (`xid`, from
`pg_current_xact_id()`), events are read in (xid, id) order, and only from transactions
older than the oldest one still running (`pg_snapshot_xmin(pg_current_snapshot())`): that
set is final, no row can join it later.  A long transaction holds consumers back (it never
makes them skip).

Several processes may run the same consumer: the consumer's row is locked for the batch
(`FOR UPDATE SKIP LOCKED`), so one handles it while the others wait their turn.

Retention.  Each consumer's row names the topics it reads (kept up to date by `claim`).
`purge` deletes, in batches, events older than a cut-off that every consumer reading their
topic has passed; an event of a topic no consumer has claimed yet is kept, and a consumer
row without topics (written before they were recorded) holds back every event above its
position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import BigInteger, Identity, Index, String, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, Database

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "cw_events"
XID_NOW = "CAST(CAST(pg_current_xact_id() AS text) AS bigint)"
HORIZON = "CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint)"


class OutboxEvent(Base):
    """One recorded event (append-only): what happened, in which transaction."""

    __tablename__ = "event_outbox"
    __table_args__ = (
        Index("ix_event_outbox_topic_xid_id", "topic", "xid", "id"),
        Index("ix_event_outbox_recorded_at", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    xid: Mapped[int] = mapped_column(BigInteger, server_default=text(XID_NOW))
    topic: Mapped[str] = mapped_column(String(60))
    source_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())


class EventConsumer(Base):
    """How far one consumer got: the (xid, id) of the last event it handled."""

    __tablename__ = "event_consumers"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_xid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    topics: Mapped[list[str]] = mapped_column(ARRAY(String(60)), server_default=text("'{}'"))


@dataclass(frozen=True)
class Event:
    """An event as a consumer sees it."""

    id: int
    xid: int
    topic: str
    source_id: str
    payload: dict[str, Any]
    recorded_at: datetime


async def record(
    session: AsyncSession, topic: str, source_id: str, payload: dict[str, Any]
) -> None:
    """Record an event in the caller's transaction (and wake consumers when it commits)."""
    await session.execute(
        insert(OutboxEvent).values(topic=topic, source_id=source_id, payload=payload)
    )
    await session.execute(text("SELECT pg_notify(:c, :t)"), {"c": EVENTS_CHANNEL, "t": topic})


async def claim(
    session: AsyncSession, name: str, topics: Sequence[str], limit: int
) -> list[Event] | None:
    """The next events for consumer `name`, its row locked until the transaction ends.

    None when another process holds the consumer right now.
    """
    locked = (
        select(EventConsumer.last_xid, EventConsumer.last_id, EventConsumer.topics)
        .where(EventConsumer.name == name)
        .with_for_update(skip_locked=True)
    )
    position = (await session.execute(locked)).first()
    if position is None:
        known = select(EventConsumer.name).where(EventConsumer.name == name)
        if (await session.execute(known)).first() is not None:
            return None  # another process holds it
        await session.execute(
            insert(EventConsumer)
            .values(name=name, last_xid=0, last_id=0, topics=sorted(topics))
            .on_conflict_do_nothing()
        )
        position = (await session.execute(locked)).first()
        if position is None:
            return None
    if list(position[2] or ()) != sorted(topics):  # what retention must keep for it
        await session.execute(
            update(EventConsumer).where(EventConsumer.name == name).values(topics=sorted(topics))
        )
    rows = (
        await session.execute(
            select(OutboxEvent)
            .where(
                OutboxEvent.topic.in_(list(topics)),
                tuple_(OutboxEvent.xid, OutboxEvent.id) > tuple_(position[0], position[1]),
                OutboxEvent.xid < text(HORIZON),
            )
            .order_by(OutboxEvent.xid, OutboxEvent.id)
            .limit(limit)
        )
    ).scalars()
    return [Event(r.id, r.xid, r.topic, r.source_id, dict(r.payload), r.recorded_at) for r in rows]


async def advance(session: AsyncSession, name: str, last: Event) -> None:
    """Move consumer `name` past `last` (in the transaction that applied its effects)."""
    await session.execute(
        update(EventConsumer)
        .where(EventConsumer.name == name)
        .values(last_xid=last.xid, last_id=last.id, updated_at=func.now())
    )


PURGE = text(
    "DELETE FROM event_outbox WHERE id IN ("
    " SELECT o.id FROM event_outbox o"
    " WHERE o.recorded_at < :cutoff"
    " AND EXISTS (SELECT 1 FROM event_consumers c WHERE o.topic = ANY(c.topics))"
    " AND NOT EXISTS (SELECT 1 FROM event_consumers c"
    "  WHERE (cardinality(c.topics) = 0 OR o.topic = ANY(c.topics))"
    "  AND (o.xid, o.id) > (c.last_xid, c.last_id))"
    " ORDER BY o.recorded_at LIMIT :limit FOR UPDATE OF o SKIP LOCKED)"
)


async def purge(session: AsyncSession, *, cutoff: datetime, limit: int) -> int:
    """Delete at most `limit` events recorded before `cutoff` that no consumer still needs.

    An event is needed by every consumer that reads its topic and has not passed it, and,
    to be safe, by a consumer whose topics are unknown; an event of a topic that no
    consumer reads is kept (a consumer yet to start may need it).  How many were deleted.
    """
    result = await session.execute(PURGE, {"cutoff": cutoff, "limit": limit})
    return int(getattr(result, "rowcount", 0) or 0)


async def waiting_beyond_horizon(session: AsyncSession, name: str, topics: Sequence[str]) -> bool:
    """Whether committed events wait for an older, still running transaction to end."""
    position = select(EventConsumer.last_xid, EventConsumer.last_id).where(
        EventConsumer.name == name
    )
    found = (await session.execute(position)).first()
    last = (0, 0) if found is None else (found[0], found[1])
    query = select(OutboxEvent.id).where(
        OutboxEvent.topic.in_(list(topics)),
        tuple_(OutboxEvent.xid, OutboxEvent.id) > tuple_(last[0], last[1]),
    )
    return (await session.execute(query.limit(1))).first() is not None


Handler = Callable[[AsyncSession, list[Event]], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """A named consumer of some topics: `handle` applies a batch in the given session."""

    name: str
    topics: tuple[str, ...]
    handle: Handler
    batch_size: int = 100


async def consume_once(db: Database, consumer: Consumer) -> int | None:
    """Handle one batch in one transaction; how many events (None: held elsewhere)."""
    async with db.transaction() as session:
        events = await claim(session, consumer.name, consumer.topics, consumer.batch_size)
        if not events:
            return None if events is None else 0
        await consumer.handle(session, events)
        await advance(session, consumer.name, events[-1])
    return len(events)


@dataclass
class Waker:
    """LISTENs on a channel and sets `event` on every notification (reconnects on loss)."""

    url: str
    channel: str
    retry_seconds: float = 2.0
    event: asyncio.Event = field(default_factory=asyncio.Event)
    listening: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name="citywitness-events"
                )
                async with conn:
                    await conn.execute(f"LISTEN {self.channel}")
                    self.listening.set()
                    self.event.set()  # whatever came before the LISTEN: look once
                    async for _ in conn.notifies():
                        self.event.set()
            except (psycopg.Error, OSError):
                log.warning("listener lost its connection; polling meanwhile")
            self.listening.clear()
            await asyncio.sleep(self.retry_seconds)


@dataclass
class ConsumerRunner:
    """Runs consumers until cancelled: woken by `NOTIFY cw_events`, polling as the fallback."""

    db: Database
    consumers: Sequence[Consumer]
    poll_seconds: float = 2.0
    retry_seconds: float = 0.1
    waker: Waker | None = None

    async def run(self) -> None:
        waker = self.waker = Waker(self.db.url, EVENTS_CHANNEL)
        listener = asyncio.create_task(waker.run(), name="events-listen")
        try:
            while True:
                waker.event.clear()
                soon = await self._drain()
                timeout = self.retry_seconds if soon else self.poll_seconds
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waker.event.wait(), timeout)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _drain(self) -> bool:
        """Handle everything due; True when something is held back (retry soon)."""
        held = False
        for consumer in self.consumers:
            try:
                while (count := await consume_once(self.db, consumer)) == consumer.batch_size:
                    pass
            except Exception:  # the batch rolled back; its events come again at the next poll
                log.exception("event consumer failed", extra={"consumer": consumer.name})
                continue
            if count is None:
                held = True
            elif count == 0:
                async with self.db.transaction() as session:
                    held |= await waiting_beyond_horizon(session, consumer.name, consumer.topics)
        return held
