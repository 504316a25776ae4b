"""The keyset cursor of audit pages: (occurred_at, id) of the last event returned."""

from __future__ import annotations

from datetime import datetime

from citywitness.kit.cursor import InvalidCursor, decode_cursor, encode_cursor


def encode_event_cursor(occurred_at: datetime, event_id: int) -> str:
    return encode_cursor([occurred_at.isoformat(), str(event_id)])


def decode_event_cursor(cursor: str) -> tuple[datetime, int]:
    when, event_id = decode_cursor(cursor, 2)
    try:
        occurred_at = datetime.fromisoformat(when)
        number = int(event_id)
    except ValueError as exc:
        raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
    if occurred_at.tzinfo is None or not 0 < number < 2**63:
        raise InvalidCursor(fields={"cursor": "not a cursor"})
    return occurred_at, number
