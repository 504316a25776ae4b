"""What analysis keeps in the content store, for the storage sweep's `is_referenced`.

Alert snapshots of findings and redacted videos stay referenced while their evidence item
is not destroyed; once it is, they are unreferenced and the sweep shreds them (the same
rule as the item's own content).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.analysis.findings import referenced_shas as snapshot_shas
from citywitness.analysis.redaction_models import Redaction
from citywitness.evidence.models import EvidenceItem, EvidenceState


async def redacted_video_shas(session: AsyncSession, sha256s: Sequence[str]) -> set[str]:
    """Which of `sha256s` are redacted videos of items not destroyed."""
    if not sha256s:
        return set()
    found = await session.scalars(
        select(Redaction.derivative_sha256)
        .join(EvidenceItem, EvidenceItem.id == Redaction.evidence_id)
        .where(
            Redaction.derivative_sha256.in_(list(sha256s)),
            EvidenceItem.state != EvidenceState.DESTROYED.value,
        )
        .distinct()
    )
    return {sha for sha in found if sha is not None}


async def referenced_shas(session: AsyncSession, sha256s: Sequence[str]) -> set[str]:
    """Which of `sha256s` analysis still needs (snapshots, redacted videos)."""
    return await snapshot_shas(session, sha256s) | await redacted_video_shas(session, sha256s)
