"""Opaque keyset-pagination cursors: the sort key of the last row a page returned.

A cursor is URL-safe base64 (unpadded) of a JSON list of strings; each list endpoint
decides what the strings are (a timestamp and an id, a username...) and checks them.
"""

from __future__ import annotations

import base64
import binascii
import json

from citywitness.kit.errors import BadRequest


class InvalidCursor(BadRequest):
    """The cursor is not one this API returned; start again without it."""

    code = "invalid_cursor"


def encode_cursor(values: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    """The `size` strings inside `cursor`; InvalidCursor (400) for anything else."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        values = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
    if not (isinstance(values, list) and len(values) == size):
        raise InvalidCursor(fields={"cursor": "not a cursor"})
    if not all(isinstance(v, str) for v in values):
        raise InvalidCursor(fields={"cursor": "not a cursor"})
    return values
