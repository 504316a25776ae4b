"""Integrity reports of a session's segment stream: append-only rows, readable by the API.

A report about an accepted segment (a gap, a late segment) is written in the transaction
that accepts it.  A report about a refused segment (a forgery, altered bytes, a conflict)
is written in a transaction of its own, since the refusal rolls the request's back.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.media.errors import SegmentRejected
from citywitness.media.models import ReportKind, SessionReport

log = logging.getLogger(__name__)


async def record(
    session: AsyncSession,
    *,
    session_id: uuid.UUID,
    department_id: uuid.UUID,
    kind: ReportKind,
    seq: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        SessionReport(
            id=uuid.uuid4(),
            session_id=session_id,
            department_id=department_id,
            kind=kind.value,
            seq=seq,
            details=details or {},
            created_at=utcnow(),  # not now(): several reports of one transaction keep their order
        )
    )
    await session.flush()
    level = logging.INFO if kind in (ReportKind.GAP, ReportKind.LATE) else logging.WARNING
    log.log(level, "live segment report", extra={"session_id": str(session_id), "kind": kind})


async def record_refusal(
    db: Database,
    error: SegmentRejected,
    *,
    session_id: uuid.UUID,
    department_id: uuid.UUID,
    kind: ReportKind,
    seq: int,
) -> None:
    """Commit the report of a refused segment (the caller re-raises `error` afterwards)."""
    async with db.transaction() as session:
        await record(
            session,
            session_id=session_id,
            department_id=department_id,
            kind=kind,
            seq=seq,
            details={"error": error.code, **(error.fields or {})},
        )
