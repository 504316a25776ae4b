"""The opaque keyset cursor of audit pages: (occurred_at, id) of the last event returned."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from citywitness.kit.errors import BadRequest


class InvalidCursor(BadRequest):
    """The cursor is not one this API returned; start again without it."""

    code = "invalid_cursor"


def encode_cursor(occurred_at: datetime, event_id: int) -> str:
    raw = f"{occurred_at.isoformat()}|{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, event_id = raw.partition("|")
        occurred_at = datetime.fromisoformat(when)
        number = int(event_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
    if occurred_at.tzinfo is None or not 0 < number < 2**63:
        raise InvalidCursor(fields={"cursor": "not a cursor"})
    return occurred_at, number
