"""The per-session hash chain of live segments (pure functions; docs/media.md, "Chain").

Segment `n` carries its own SHA-256 and the SHA-256 of segment `n - 1`; segment 0 carries
the session's genesis value instead:

    genesis = SHA-256( "citywitness/live/v1\\n" || <session id, canonical UUID text> || "\\n"
                       || <init segment SHA-256 in lowercase hex, or nothing for MPEG-TS> )

so the chain also commits to the session id and, for fMP4, to the init segment that every
fragment needs to be decoded.
"""

from __future__ import annotations

import hashlib
import re
import uuid

GENESIS_PREFIX = b"citywitness/live/v1\n"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def genesis(session_id: uuid.UUID, init_sha256: str | None) -> str:
    data = GENESIS_PREFIX + str(session_id).encode() + b"\n" + (init_sha256 or "").encode()
    return hashlib.sha256(data).hexdigest()


def parse_digest(value: str | None) -> str | None:
    """A SHA-256 in 64 hex digits (either case) as lowercase hex; None if malformed."""
    if value is None:
        return None
    value = value.strip().lower()
    return value if HEX64.match(value) else None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
