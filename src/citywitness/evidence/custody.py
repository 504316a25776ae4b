"""Custody events of evidence: one call records the audit event and appends the ledger leaf,
in the caller's transaction.

`record` takes the same arguments as `Auditor.record`.  Actions listed in `CUSTODY` also become
ledger entries; the leaf carries only the listed, non-personal detail keys (ids, hashes, sizes,
labels), and a free-text reason only as its SHA-256 (`reason_sha256`).  Other actions (reads,
lists) are audited only.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification
from citywitness.access.registry import GrantChange
from citywitness.access.trail import AuditTrail
from citywitness.audit.service import Auditor
from citywitness.evidence.models import DestructionCertificate
from citywitness.ledger import service as ledger
from citywitness.ledger.canonical import canonical_json
from citywitness.ledger.events import LedgerActor, LedgerEvent, LedgerKind, reason_digest

EVIDENCE = "evidence"
K = LedgerKind

# audit action -> (ledger kind, detail keys the leaf keeps)
CUSTODY: dict[str, tuple[LedgerKind, tuple[str, ...]]] = {
    "evidence.ingest": (
        K.EVIDENCE_INGESTED,
        ("sha256", "size_bytes", "kind", "channel", "classification"),
    ),
    "evidence.play": (K.EVIDENCE_PLAYED, ("range", "bytes", "derivative")),
    "evidence.download": (K.EVIDENCE_DOWNLOADED, ("range", "bytes", "derivative")),
    "evidence.export": (
        K.EVIDENCE_EXPORTED,
        ("export_id", "package_sha256", "files", "derivatives"),
    ),
    "evidence.share": (
        K.EVIDENCE_SHARED,
        ("grant_id", "permission", "grantee_user_id", "grantee_department_id", "expires_at"),
    ),
    "evidence.unshare": (
        K.EVIDENCE_UNSHARED,
        ("grant_id", "permission", "grantee_user_id", "grantee_department_id"),
    ),
    "evidence.hold.place": (K.EVIDENCE_HOLD_PLACED, ("hold_id",)),
    "evidence.hold.release": (K.EVIDENCE_HOLD_RELEASED, ("hold_id",)),
    "evidence.destroy": (
        K.EVIDENCE_DESTROYED,
        ("deletion_request_id", "sha256", "key_destroyed", "content_retained_for"),
    ),
    "evidence.derivative_made": (K.EVIDENCE_DERIVATIVE_CREATED, ("kind", "sha256", "size_bytes")),
    "evidence.redaction.publish": (
        K.EVIDENCE_DERIVATIVE_PUBLISHED,
        (
            "kind",
            "sha256",
            "size_bytes",
            "original_sha256",
            "plan_sha256",
            "redaction_id",
            "published_at",
        ),
    ),
    "evidence.update": (K.EVIDENCE_METADATA_CHANGED, ("changed",)),
}


def actor_of(auditor: Auditor) -> LedgerActor:
    if auditor.actor is not None:
        return LedgerActor(auditor.actor_kind, auditor.actor.user_id)
    return LedgerActor(auditor.actor_kind if auditor.actor_kind != "user" else "anonymous")


def certificate_digest(certificate: DestructionCertificate) -> str:
    """SHA-256 (hex) of a destruction certificate's canonical JSON (every column)."""
    columns = certificate.__table__.columns
    values = {column.name: getattr(certificate, column.key) for column in columns}
    plain = {
        k: v if v is None or isinstance(v, int | str | list) else str(v) for k, v in values.items()
    }
    return hashlib.sha256(canonical_json(plain)).hexdigest()


def _metadata_events(details: dict[str, Any]) -> list[tuple[LedgerKind, dict[str, Any]]]:
    after = details.get("after", {})
    changed = {"changed": details.get("changed", [])}
    changed["values_sha256"] = hashlib.sha256(canonical_json(after)).hexdigest()
    found = [(K.EVIDENCE_METADATA_CHANGED, changed)]
    if "classification" in after:
        label = Classification(int(after["classification"])).label
        found.append((K.EVIDENCE_CLASSIFIED, {"classification": label}))
    return found


async def record(
    auditor: Auditor,
    action: str,
    *,
    object_type: str = EVIDENCE,
    object_id: uuid.UUID | str,
    department_id: uuid.UUID | None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    ledger_details: dict[str, Any] | None = None,
) -> None:
    """Audit `action` and, if it is a custody event, append its ledger entry."""
    await auditor.record(
        action,
        object_type=object_type,
        object_id=object_id,
        department_id=department_id,
        reason=reason,
        details=details,
    )
    known = CUSTODY.get(action)
    if known is None:
        return
    kind, keys = known
    given = details or {}
    if kind is K.EVIDENCE_METADATA_CHANGED:
        leaves = _metadata_events(given)
    else:
        leaves = [(kind, {k: given[k] for k in keys if k in given})]
    digest = reason_digest(reason)
    events = []
    for leaf_kind, leaf_details in leaves:
        if digest is not None:
            leaf_details["reason_sha256"] = digest
        leaf_details.update(ledger_details or {})
        events.append(
            LedgerEvent(
                kind=leaf_kind,
                object_type=object_type,
                object_id=object_id,
                department_id=department_id,
                actor=actor_of(auditor),
                details=leaf_details,
            )
        )
    await ledger.append_many(auditor.session, events)


async def grant_changed(_session: AsyncSession, trail: AuditTrail, change: GrantChange) -> None:
    """The grants service's hook for evidence: sharing an item, or ending a share, is custody."""
    if not isinstance(trail, Auditor):  # the API and the CLI always pass an Auditor
        raise TypeError("evidence custody needs the audit trail to be an Auditor")
    grant = change.grant
    granted = change.action == "granted"
    await record(
        trail,
        "evidence.share" if granted else "evidence.unshare",
        object_id=grant.object_id,
        department_id=change.owner.department_id,
        reason=grant.reason if granted else None,
        details={
            "grant_id": str(grant.id),
            "permission": grant.permission,
            "grantee_user_id": str(grant.grantee_user_id) if grant.grantee_user_id else None,
            "grantee_department_id": (
                str(grant.grantee_department_id) if grant.grantee_department_id else None
            ),
            "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
        },
    )
