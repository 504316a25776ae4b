"""Fork detection: two different checkpoints for one size, both signed with this log's key.

A fork means the log showed different histories to different people.  Evidence of one is
self-proving: checkpoints that carry this log's valid signature but are not part of its
tree (or contradict each other).  Whoever holds such evidence (a witness, an auditor)
may report it; the platform checks it and records a durable incident (append-only,
severity critical), writes a CRITICAL log line and an audit event, and /readyz fails
until an administrator acknowledges the incident.  (The `ledger_checkpoints` table
itself cannot hold two checkpoints of one size: its size column is unique.)

The alerts domain (issue 5) will turn incidents into alerts; until then /readyz, the log
and the audit trail carry them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import require_global
from citywitness.kit.db import Database
from citywitness.kit.health import Check
from citywitness.kit.jobs import insert_once
from citywitness.ledger import tiles
from citywitness.ledger.models import LedgerCheckpoint
from citywitness.ledger.note import Checkpoint, SignedNote
from citywitness.ledger.witness_errors import (
    ForkNotProven,
    IncidentAlreadyAcknowledged,
    IncidentNotFound,
)
from citywitness.ledger.witness_models import Incident, IncidentAcknowledgement
from citywitness.ledger.witness_types import AuditRecorder, LogIdentity, decode_checkpoint

log = logging.getLogger(__name__)

FORK = "fork"
CRITICAL = "critical"


async def fork_against_tree(session: AsyncSession, checkpoints: Sequence[Checkpoint]) -> str | None:
    """Why these (log-signed) checkpoints prove a fork, or None if they are all ours."""
    roots: dict[int, bytes] = {}
    for checkpoint in checkpoints:
        seen = roots.setdefault(checkpoint.size, checkpoint.root)
        if seen != checkpoint.root:
            return f"two signed checkpoints of size {checkpoint.size} with different roots"
    latest = await session.scalar(select(func.max(LedgerCheckpoint.size)))
    for checkpoint in sorted(checkpoints, key=lambda c: c.size):
        if latest is None or checkpoint.size > latest:
            return (
                f"a signed checkpoint of size {checkpoint.size} is beyond this log's "
                f"latest checkpoint ({latest or 0})"
            )
        ours = await tiles.root(session, checkpoint.size)
        if ours != checkpoint.root:
            return f"a signed checkpoint of size {checkpoint.size} has a root this log never had"
    return None


def _fingerprint(notes: Sequence[SignedNote]) -> str:
    bodies = sorted({note.body for note in notes})
    return hashlib.sha256(b"fork\n" + b"\n\n".join(bodies)).hexdigest()


async def record_fork(
    session: AsyncSession,
    *,
    summary: str,
    size: int | None,
    notes: Sequence[SignedNote],
    reported_by: str | None,
    auditor: AuditRecorder,
    proof: Sequence[str] = (),
) -> Incident:
    """Record a fork incident once (the same evidence again returns the same incident)."""
    fingerprint = _fingerprint(notes)
    our_root = None
    if size is not None:
        latest = await session.scalar(select(func.max(LedgerCheckpoint.size)))
        if latest is not None and size <= latest:
            our_root = base64.b64encode(await tiles.root(session, size)).decode("ascii")
    evidence = {
        "notes": [note.encode().decode("utf-8") for note in notes],
        "proof": list(proof),
        "our_root": our_root,
    }
    values = {
        "id": uuid.uuid4(),
        "kind": FORK,
        "severity": CRITICAL,
        "size": size,
        "summary": summary[:500],
        "fingerprint": fingerprint,
        "evidence": evidence,
        "reported_by": reported_by,
    }
    new = await insert_once(session, Incident, values)
    incident = await session.scalar(select(Incident).where(Incident.fingerprint == fingerprint))
    if incident is None:  # pragma: no cover - inserted or found just above
        raise RuntimeError("fork incident vanished")
    if new:
        log.critical(
            "ledger fork detected",
            extra={"incident_id": str(incident.id), "size": size, "summary": summary},
        )
        await auditor.record(
            "ledger.fork_detected",
            object_type="ledger_incident",
            object_id=incident.id,
            details={"size": size, "summary": summary, "reported_by": reported_by},
        )
    return incident


async def report_fork(
    session: AsyncSession,
    log_identity: LogIdentity,
    *,
    notes: Sequence[str],
    proof: Sequence[str],
    reporter: str | None,
    auditor: AuditRecorder,
) -> Incident:
    """Check reported evidence of a fork; record it if it proves one (`ForkNotProven`)."""
    decoded = [decode_checkpoint(log_identity, text) for text in notes]
    problem = await fork_against_tree(session, [checkpoint for _, checkpoint in decoded])
    if problem is None:
        log.warning("fork report without proof", extra={"reported_by": reporter})
        raise ForkNotProven
    sizes = sorted({checkpoint.size for _, checkpoint in decoded})
    return await record_fork(
        session,
        summary=problem,
        size=sizes[0] if len(sizes) == 1 else sizes[-1],
        notes=[note for note, _ in decoded],
        reported_by=reporter,
        auditor=auditor,
        proof=proof,
    )


async def list_incidents(
    session: AsyncSession,
) -> list[tuple[Incident, IncidentAcknowledgement | None]]:
    rows = await session.execute(
        select(Incident, IncidentAcknowledgement)
        .outerjoin(IncidentAcknowledgement, IncidentAcknowledgement.incident_id == Incident.id)
        .order_by(Incident.detected_at.desc(), Incident.id)
    )
    return list(rows.all())


async def open_incidents(session: AsyncSession) -> list[Incident]:
    """Incidents nobody has acknowledged yet, oldest first."""
    acknowledged = select(IncidentAcknowledgement.incident_id)
    rows = await session.scalars(
        select(Incident).where(Incident.id.not_in(acknowledged)).order_by(Incident.detected_at)
    )
    return list(rows)


async def acknowledge_incident(
    session: AsyncSession,
    principal: Principal | None,
    incident_id: uuid.UUID,
    *,
    note: str,
    auditor: AuditRecorder,
) -> IncidentAcknowledgement:
    """Mark an incident as looked into (platform-wide `ledger:admin`; None: the CLI)."""
    if principal is not None:
        require_global(principal, Permission.LEDGER_ADMIN, action="ledger.incidents.acknowledge")
    if await session.get(Incident, incident_id) is None:
        raise IncidentNotFound
    values = {
        "incident_id": incident_id,
        "acknowledged_by_user_id": principal.user_id if principal else None,
        "note": note,
    }
    if not await insert_once(session, IncidentAcknowledgement, values):
        raise IncidentAlreadyAcknowledged
    await auditor.record(
        "ledger.incident.acknowledged", object_type="ledger_incident", object_id=incident_id
    )
    found = await session.get(IncidentAcknowledgement, incident_id)
    if found is None:  # pragma: no cover - inserted just above
        raise RuntimeError("acknowledgement vanished")
    return found


def forks_readiness(db: Database) -> Check:
    """/readyz: failing while a fork incident is unacknowledged, naming it."""

    async def check() -> str | None:
        async with db.transaction() as session:
            incidents = await open_incidents(session)
        if not incidents:
            return None
        first = incidents[0]
        more = f" (+{len(incidents) - 1} more)" if len(incidents) > 1 else ""
        return f"fork detected: {first.summary} (incident {first.id}){more}"

    return check
