"""Hashing helpers for secrets that are stored only as digests (tokens, codes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def sha256_hex(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret with `nbytes` of entropy."""
    return secrets.token_urlsafe(nbytes)


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
