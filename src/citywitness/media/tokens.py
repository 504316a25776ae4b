"""Signed, short-lived view tokens for live playlists (`?vt=` in segment URLs).

A token names one live view (of one viewer, already audited) and one session, and expires:

    <view id hex>.<session id hex>.<expiry, unix seconds>.<base64url HMAC-SHA256>

The HMAC key is a file of its own (`media.view_key_file`), created 0600 in a 0700
directory on first use; API replicas that serve the same viewers share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from citywitness.media.errors import ViewTokenInvalid

_TAG = "citywitness-media-view v1 "
_CONTEXT = b"citywitness/live-view/v1|"


class ViewKeyUnsafe(RuntimeError):
    """The view key file is readable by others, or not a key file."""


@dataclass(frozen=True)
class ViewToken:
    view_id: uuid.UUID
    session_id: uuid.UUID
    expires: int


@lru_cache(maxsize=8)
def load_key(path: Path) -> bytes:
    """The key in `path`, created on first use; refuses a file others can read."""
    path = path.absolute()
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)
    if not path.exists():
        line = (_TAG + base64.b64encode(secrets.token_bytes(32)).decode() + "\n").encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
        raise ViewKeyUnsafe(f"{path} must be a regular file only its owner can read")
    text = path.read_text(encoding="ascii").strip()
    if not text.startswith(_TAG):
        raise ViewKeyUnsafe(f"{path} is not a CityWitness view key")
    key = base64.b64decode(text[len(_TAG) :])
    if len(key) != 32:
        raise ViewKeyUnsafe(f"{path} holds a key of the wrong length")
    return key


def _mac(key: bytes, payload: str) -> str:
    digest = hmac.new(key, _CONTEXT + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(key: bytes, token: ViewToken) -> str:
    payload = f"{token.view_id.hex}.{token.session_id.hex}.{token.expires}"
    return f"{payload}.{_mac(key, payload)}"


def check(key: bytes, value: str, *, session_id: uuid.UUID, now: int) -> ViewToken:
    """The token in `value` if it is genuine, unexpired and for `session_id`."""
    parts = value.split(".")
    if len(parts) != 4 or len(value) > 200:
        raise ViewTokenInvalid
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(key, payload), parts[3]):
        raise ViewTokenInvalid
    try:
        token = ViewToken(uuid.UUID(hex=parts[0]), uuid.UUID(hex=parts[1]), int(parts[2]))
    except ValueError:
        raise ViewTokenInvalid from None
    if token.session_id != session_id or token.expires < now:
        raise ViewTokenInvalid
    return token
