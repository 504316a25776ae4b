"""External anchors: deposit a checkpoint's hash with an outside service and keep its receipt.

An anchor is one more party holding proof that the log had this root at this size by a
certain time (a judicial or notary deposit service, a consortium chain's gateway).  It
never receives evidence or personal data: only the SHA-256 of a checkpoint body, its
size and the log's origin.

`Anchor` is the protocol; `HttpDepositAnchor` is the shipped adapter for a generic deposit
service over HTTP:

    POST <url>          {"hash": "<sha256 hex>", "size": N, "origin": "<origin>"}
      -> 200/201        {"transaction": "<id>", "block_height": H, ...}
    GET  <url>/<transaction>
      -> 200            {"transaction": "<id>", "hash": "<sha256 hex>", "block_height": H}

Which adapter runs is chosen in settings by `kind` (`ledger.anchors.adapters`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from citywitness.kit.clock import utcnow
from citywitness.ledger.note import Checkpoint, NoteError, SignedNote
from citywitness.settings.sections import HttpAnchorSettings

MAX_REPLY_BYTES = 64 * 1024


class AnchorError(RuntimeError):
    """The anchor service could not be reached, refused, or answered something unusable."""


@dataclass(frozen=True)
class AnchorReceipt:
    """What an anchor gave back: its reference (a transaction id), when, and the rest."""

    reference: str
    anchored_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


class Anchor(Protocol):
    """An external place to deposit checkpoint hashes."""

    @property
    def name(self) -> str: ...

    async def submit(self, checkpoint_note: bytes) -> AnchorReceipt: ...

    async def verify(self, receipt: AnchorReceipt, checkpoint_note: bytes) -> bool: ...


def checkpoint_of(checkpoint_note: bytes) -> Checkpoint:
    """The checkpoint inside a signed note (`AnchorError` if it is not one)."""
    try:
        return Checkpoint.parse(SignedNote.decode(checkpoint_note).body)
    except NoteError as exc:
        raise AnchorError(f"not a signed checkpoint: {exc}") from exc


def anchored_hash(checkpoint: Checkpoint) -> str:
    """What is deposited: the SHA-256 (hex) of the checkpoint body."""
    return hashlib.sha256(checkpoint.body()).hexdigest()


class HttpDepositAnchor:
    """A generic deposit service over HTTP (JSON), e.g. a court-connected notary gateway."""

    def __init__(self, settings: HttpAnchorSettings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client

    @property
    def name(self) -> str:
        return self._settings.name

    def _headers(self) -> dict[str, str]:
        token = self._settings.token
        return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}

    async def _call(self, method: str, url: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            reply = await self._client.request(
                method,
                url,
                json=body,
                headers=self._headers(),
                timeout=self._settings.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise AnchorError(f"anchor {self.name} unreachable: {type(exc).__name__}") from exc
        if reply.status_code not in (200, 201):
            raise AnchorError(f"anchor {self.name} answered HTTP {reply.status_code}")
        if len(reply.content) > MAX_REPLY_BYTES:
            raise AnchorError(f"anchor {self.name} answered more than {MAX_REPLY_BYTES} bytes")
        try:
            data = reply.json()
        except ValueError as exc:
            raise AnchorError(f"anchor {self.name} did not answer JSON") from exc
        if not isinstance(data, dict):
            raise AnchorError(f"anchor {self.name} did not answer a JSON object")
        return data

    async def submit(self, checkpoint_note: bytes) -> AnchorReceipt:
        checkpoint = checkpoint_of(checkpoint_note)
        digest = anchored_hash(checkpoint)
        body = {"hash": digest, "size": checkpoint.size, "origin": checkpoint.origin}
        data = await self._call("POST", self._settings.url, body)
        transaction = data.get("transaction")
        height = data.get("block_height")
        if not isinstance(transaction, str) or not transaction or len(transaction) > 200:
            raise AnchorError(f"anchor {self.name} answered no transaction id")
        if not isinstance(height, int) or isinstance(height, bool) or height < 0:
            raise AnchorError(f"anchor {self.name} answered no block height")
        details = {"hash": digest, "size": checkpoint.size, "block_height": height}
        return AnchorReceipt(reference=transaction, anchored_at=utcnow(), details=details)

    async def verify(self, receipt: AnchorReceipt, checkpoint_note: bytes) -> bool:
        """The service still holds this checkpoint's hash under the receipt's reference."""
        digest = anchored_hash(checkpoint_of(checkpoint_note))
        if receipt.details.get("hash") != digest:
            return False
        url = f"{self._settings.url.rstrip('/')}/{quote(receipt.reference, safe='')}"
        data = await self._call("GET", url, None)
        return data.get("hash") == digest and data.get("transaction") == receipt.reference


def build_anchor(settings: HttpAnchorSettings, client: httpx.AsyncClient) -> Anchor:
    """The adapter for one configured anchor, by its `kind`."""
    if settings.kind == "http":
        return HttpDepositAnchor(settings, client)
    raise ValueError(f"unknown anchor kind {settings.kind!r}")  # pragma: no cover - typed
