"""API shapes of analysis runs, findings (never the embedding) and precision."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from citywitness.analysis.findings import Precision
from citywitness.analysis.models import AnalysisRun, StoredFinding


class RunStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analyzers: list[str] = Field(
        min_length=1, max_length=8, description="Analyzer kinds to run (plates, faces...)."
    )


class RunOut(BaseModel):
    id: uuid.UUID
    evidence_id: uuid.UUID
    analyzers: list[str]
    trigger: str
    state: str
    progress_s: float = Field(description="Media seconds analysed (the resume point).")
    duration_s: float | None
    findings_count: int
    error: str | None
    requested_by: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, run: AnalysisRun) -> RunOut:
        return cls(
            id=run.id,
            evidence_id=run.evidence_id,
            analyzers=list(run.analyzers),
            trigger=str(run.trigger),
            state=str(run.state),
            progress_s=run.progress_s,
            duration_s=run.duration_s,
            findings_count=run.findings_count,
            error=run.error,
            requested_by=run.requested_by,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


class ModelOut(BaseModel):
    name: str
    version: str
    sha256: str


class FindingOut(BaseModel):
    id: int
    run_id: uuid.UUID | None
    evidence_id: uuid.UUID
    segment_sha256: str | None
    analyzer: str
    label: str
    offset_s: float
    duration_s: float | None
    box: dict[str, float] | None = Field(description="x, y, w, h normalised to 0..1.")
    confidence: float
    model: ModelOut
    attributes: dict[str, Any]
    alert_kind: str | None
    review: str | None
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: StoredFinding, *, face_candidates: bool = True) -> FindingOut:
        """The API form; without `face_candidates` a face's watch-list candidate is left out."""
        attributes = row.attributes
        if not face_candidates and row.analyzer == "faces" and "watchlist" in attributes:
            attributes = {k: v for k, v in attributes.items() if k != "watchlist"}
        return cls(
            id=row.id,
            run_id=row.run_id,
            evidence_id=row.evidence_id,
            segment_sha256=row.segment_sha256,
            analyzer=row.analyzer,
            label=row.label,
            offset_s=row.offset_s,
            duration_s=row.duration_s,
            box=row.box,
            confidence=row.confidence,
            model=ModelOut(name=row.model_name, version=row.model_version, sha256=row.model_sha256),
            attributes=attributes,
            alert_kind=row.alert_kind,
            review=None if row.review is None else str(row.review),
            reviewed_by=row.reviewed_by,
            reviewed_at=row.reviewed_at,
            created_at=row.created_at,
        )


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    review: Literal["confirmed", "false"]


class PrecisionOut(BaseModel):
    analyzer: str
    confirmed: int
    false: int
    precision: float | None = Field(description="confirmed / (confirmed + false); null: none.")

    @classmethod
    def of(cls, p: Precision) -> PrecisionOut:
        return cls(analyzer=p.analyzer, confirmed=p.confirmed, false=p.false, precision=p.precision)
