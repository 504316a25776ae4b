"""Appending custody events to the log, in the caller's transaction.

`append` inserts the entry and queues it for the sequencer in one statement; it takes no lock,
so concurrent writers never wait on each other.  The entry exists if and only if the change it
records commits.  The sequencer (`ledger.sequencer`) later gives it its index.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.kit.clock import utcnow
from citywitness.ledger.events import LedgerEvent, encode_leaf
from citywitness.ledger.merkle import leaf_hash

_APPEND = text(
    """
    WITH entry AS (
        INSERT INTO ledger_entries
            (created_at, kind, object_type, object_id, department_id, leaf, leaf_hash)
        SELECT * FROM unnest(
            CAST(:created_at AS timestamptz[]), CAST(:kinds AS varchar[]),
            CAST(:object_types AS varchar[]), CAST(:object_ids AS varchar[]),
            CAST(:departments AS uuid[]), CAST(:leaves AS bytea[]), CAST(:hashes AS bytea[])
        )
        RETURNING id
    )
    INSERT INTO ledger_pending (entry_id) SELECT id FROM entry RETURNING entry_id
    """
)


async def append(session: AsyncSession, event: LedgerEvent) -> int:
    """Append one custody event; returns its entry id (not its index: that comes later)."""
    return (await append_many(session, [event]))[0]


async def append_many(session: AsyncSession, events: Sequence[LedgerEvent]) -> list[int]:
    """Append several events in one statement; their entry ids in the same order."""
    if not events:
        return []
    now = utcnow()
    moments = [event.at or now for event in events]
    leaves = [encode_leaf(event, at) for event, at in zip(events, moments, strict=True)]
    result = await session.execute(
        _APPEND,
        {
            "created_at": moments,
            "kinds": [event.kind.value for event in events],
            "object_types": [event.object_type for event in events],
            "object_ids": [str(event.object_id) for event in events],
            "departments": [event.department_id for event in events],
            "leaves": leaves,
            "hashes": [leaf_hash(leaf) for leaf in leaves],
        },
    )
    return sorted(int(entry_id) for entry_id in result.scalars())
