"""RFC 8785 JSON Canonicalization Scheme (JCS): the byte form of every ledger leaf.

A leaf's hash is taken over these bytes, so two producers that agree on the JSON value agree on
the hash, whatever their key order or number formatting.
"""

from __future__ import annotations

from typing import Any

import rfc8785


def canonical_json(value: object) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value (dicts, lists, str, int, float, bool,
    None). Raises `rfc8785.CanonicalizationError` (a ValueError) for values JSON cannot carry."""
    json_value: Any = value  # rfc8785 checks the value's types itself, at run time
    return rfc8785.dumps(json_value)
