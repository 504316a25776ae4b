"""An evidence item's transcript, read from its stored ``speech`` findings.

Reading it needs the item to be visible to the caller (evidence:read in its department or a
grant, clearance at least its classification: 404 otherwise) and analysis:read in the item's
department (403). Every read is audited as ``analysis.read_transcript``. The transcript is
404 ``analysis.transcript_not_available`` until the speech analyzer has run on the item (a
finished run, or live findings); a run that heard nothing gives an empty transcript.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import any_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted
from citywitness.analysis import findings, webvtt
from citywitness.analysis.models import AnalysisRun, RunState, StoredFinding
from citywitness.analysis.speech import KIND
from citywitness.audit.service import Auditor
from citywitness.evidence.errors import EvidenceDestroyed
from citywitness.evidence.ingest import EVIDENCE
from citywitness.evidence.models import EvidenceItem, EvidenceState
from citywitness.evidence.service import visible_item
from citywitness.kit.errors import AppError

P = Permission


class TranscriptNotAvailable(AppError):
    """The speech analyzer has not run on this item yet."""

    code = "analysis.transcript_not_available"
    status = 404


@dataclass(frozen=True, slots=True)
class Transcript:
    """The item and its speech findings in time order."""

    item: EvidenceItem
    segments: list[StoredFinding]

    @property
    def text(self) -> str:
        return " ".join(str(s.attributes.get("text", "")).strip() for s in self.segments).strip()

    @property
    def language(self) -> str | None:
        languages = {s.attributes.get("language") for s in self.segments} - {None}
        return str(languages.pop()) if len(languages) == 1 else None

    def models(self) -> list[dict[str, str]]:
        seen = {(s.model_name, s.model_version, s.model_sha256) for s in self.segments}
        return [{"name": n, "version": v, "sha256": h} for n, v, h in sorted(seen)]

    def cues(self) -> list[webvtt.Cue]:
        return [
            webvtt.Cue.from_seconds(
                s.offset_s,
                s.offset_s + (s.duration_s or 0.0),
                str(s.attributes.get("text", "")),
                identifier=str(s.id),
            )
            for s in self.segments
        ]

    def vtt(self) -> str:
        return webvtt.write(self.cues())


async def _speech_run_finished(session: AsyncSession, evidence_id: uuid.UUID) -> bool:
    query = select(AnalysisRun.id).where(
        AnalysisRun.evidence_id == evidence_id,
        any_(AnalysisRun.analyzers) == KIND,
        AnalysisRun.state == RunState.DONE.value,
    )
    return (await session.scalar(query.limit(1))) is not None


async def read_transcript(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    *,
    fmt: str,
) -> Transcript:
    """The transcript of an item the caller may read (``fmt`` is recorded in the audit)."""
    item = await visible_item(session, principal, evidence_id)
    ensure_permitted(
        principal,
        P.ANALYSIS_READ,
        department_id=item.department_id,
        object_type=EVIDENCE,
        object_id=item.id,
    )
    if item.state == EvidenceState.DESTROYED:
        raise EvidenceDestroyed(fields={"evidence_id": str(item.id)})
    segments = await findings.findings_for(session, item.id, analyzer=KIND, label="speech")
    if not segments and not await _speech_run_finished(session, item.id):
        raise TranscriptNotAvailable(fields={"evidence_id": str(item.id)})
    details: dict[str, Any] = {"format": fmt, "segments": len(segments)}
    await auditor.record(
        "analysis.read_transcript",
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=item.department_id,
        details=details,
    )
    return Transcript(item, segments)
