"""The log's identity: its origin (also the signing key's name) and its Ed25519 signer."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from citywitness.ledger.note import NoteSigner, load_or_create_key
from citywitness.settings import Settings


def log_origin(settings: Settings) -> str:
    """`ledger.origin`, or `<city>.citywitness/log`."""
    return settings.ledger.origin or f"{settings.city}.citywitness/log"


def key_path(settings: Settings) -> Path:
    path = settings.ledger.key_file
    return (path if path.is_absolute() else settings.data_dir / path).absolute()


@lru_cache(maxsize=8)
def _signer(origin: str, path: Path) -> NoteSigner:
    return NoteSigner(origin, load_or_create_key(path))


def log_signer(settings: Settings) -> NoteSigner:
    """The checkpoint signer (its key file created on first use, 0600)."""
    return _signer(log_origin(settings), key_path(settings))


def log_vkey(settings: Settings) -> str:
    """The verifier key third parties use to check checkpoints: `<origin>+<id>+<key>`."""
    return log_signer(settings).verifier_key()
