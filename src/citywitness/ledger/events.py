"""What a custody leaf says: its kinds, the event a domain hands to `service.append`, and the
leaf document (canonical JSON, RFC 8785) that is hashed into the log.

Leaf, version 1 (keys in canonical order when encoded):

    {"v": 1, "kind": "evidence.ingested", "object": {"type": "evidence", "id": "<uuid>"},
     "department": "<uuid>" | null,
     "actor": {"kind": "user" | "system" | ..., "id": "<uuid>" | null},
     "at": "2026-11-24T12:00:00.123456Z", "details": {...}}

Leaves carry ids, hashes, sizes and labels: never names, free text or other personal data (a
reason someone gave is committed to as its SHA-256, `reason_sha256`; the audit trail keeps the
text).
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from citywitness.ledger.canonical import canonical_json

LEAF_VERSION = 1
MAX_LEAF_BYTES = 16 * 1024  # well under the 64 KiB an entry bundle can carry


class LedgerKind(enum.StrEnum):
    """Custody events; the `details` each carries are documented in docs/ledger.md."""

    EVIDENCE_INGESTED = "evidence.ingested"
    EVIDENCE_METADATA_CHANGED = "evidence.metadata_changed"
    EVIDENCE_CLASSIFIED = "evidence.classified"
    EVIDENCE_PLAYED = "evidence.played"
    EVIDENCE_DOWNLOADED = "evidence.downloaded"
    EVIDENCE_EXPORTED = "evidence.exported"
    EVIDENCE_SHARED = "evidence.shared"
    EVIDENCE_UNSHARED = "evidence.unshared"
    EVIDENCE_HOLD_PLACED = "evidence.hold_placed"
    EVIDENCE_HOLD_RELEASED = "evidence.hold_released"
    EVIDENCE_DESTROYED = "evidence.destroyed"
    EVIDENCE_DERIVATIVE_CREATED = "evidence.derivative_created"
    # A derivative approved for release (a redacted video): which original, which plan.
    EVIDENCE_DERIVATIVE_PUBLISHED = "evidence.derivative_published"
    # One accepted live segment (media domain): session_id, seq, sha256, prev_sha256,
    # size_bytes, late; the object is the evidence item the session records into.
    MEDIA_SEGMENT_INGESTED = "media.segment_ingested"


@dataclass(frozen=True)
class LedgerActor:
    """Who caused the event: a user (by id), or the system (`id` None)."""

    kind: str
    id: uuid.UUID | None = None


SYSTEM = LedgerActor("system")


@dataclass(frozen=True)
class LedgerEvent:
    """One custody event about one object."""

    kind: LedgerKind
    object_type: str
    object_id: uuid.UUID | str
    department_id: uuid.UUID | None
    actor: LedgerActor
    details: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None  # default: now


def rfc3339(moment: datetime) -> str:
    """UTC, microseconds, a `Z` suffix: one spelling per instant."""
    if moment.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def reason_digest(reason: str | None) -> str | None:
    """What a leaf records of a free-text reason: its SHA-256 (hex) over the UTF-8 text."""
    if reason is None or not reason.strip():
        return None
    return hashlib.sha256(reason.strip().encode("utf-8")).hexdigest()


def leaf_document(event: LedgerEvent, at: datetime) -> dict[str, Any]:
    return {
        "v": LEAF_VERSION,
        "kind": event.kind.value,
        "object": {"type": event.object_type, "id": str(event.object_id)},
        "department": str(event.department_id) if event.department_id else None,
        "actor": {
            "kind": event.actor.kind,
            "id": str(event.actor.id) if event.actor.id else None,
        },
        "at": rfc3339(at),
        "details": event.details,
    }


def encode_leaf(event: LedgerEvent, at: datetime) -> bytes:
    """The leaf's canonical bytes; ValueError if it is too big or not JSON."""
    data = canonical_json(leaf_document(event, at))
    if len(data) > MAX_LEAF_BYTES:
        raise ValueError(f"ledger leaf of {len(data)} bytes exceeds {MAX_LEAF_BYTES}")
    return data
