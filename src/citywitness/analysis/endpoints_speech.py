"""HTTP adapter for an evidence item's transcript, as JSON segments or as WebVTT (the rules
live in speech_service.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from citywitness.analysis import speech_service, webvtt
from citywitness.analysis.models import StoredFinding
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/evidence", tags=["analysis"])

ACCESS = (
    "Needs analysis:read in the item's department and the item visible to the caller "
    "(evidence:read there or a grant, and the clearance): 404 otherwise.  404 "
    "`analysis.transcript_not_available` until the speech analyzer has run on the item; "
    "410 for a destroyed item.  Every read is audited (analysis.read_transcript)."
)


class WordOut(BaseModel):
    word: str
    start: float = Field(description="Seconds from the start of the item.")
    end: float
    p: float = Field(description="The model's probability for the word, 0..1.")


class SegmentOut(BaseModel):
    finding_id: int
    offset_s: float = Field(description="Seconds from the start of the item.")
    end_s: float
    text: str
    confidence: float = Field(description="exp(mean token log-probability), 0..1.")
    review: str | None = Field(description="A person's verdict: confirmed, false or none.")
    words: list[WordOut]


class ModelOut(BaseModel):
    name: str
    version: str
    sha256: str


class TranscriptOut(BaseModel):
    evidence_id: uuid.UUID
    language: str | None
    text: str = Field(description="The segments' text joined by spaces.")
    segments: list[SegmentOut]
    models: list[ModelOut] = Field(description="The models that produced the segments.")


def _segment(row: StoredFinding) -> SegmentOut:
    end = row.offset_s + (row.duration_s or 0.0)
    return SegmentOut(
        finding_id=row.id,
        offset_s=round(row.offset_s, 3),
        end_s=round(end, 3),
        text=str(row.attributes.get("text", "")),
        confidence=round(row.confidence, 4),
        review=row.review,
        words=[WordOut.model_validate(w) for w in row.attributes.get("words", [])],
    )


@router.get(
    "/{evidence_id}/transcript",
    summary="The item's speech transcript: segments with word timings (JSON).",
    description=ACCESS,
    responses=error_responses(401, 403, 404, 410, 422),
)
async def get_transcript(
    evidence_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> TranscriptOut:
    found = await speech_service.read_transcript(
        session, principal, auditor, evidence_id, fmt="json"
    )
    return TranscriptOut(
        evidence_id=found.item.id,
        language=found.language,
        text=found.text,
        segments=[_segment(row) for row in found.segments],
        models=[ModelOut.model_validate(m) for m in found.models()],
    )


@router.get(
    "/{evidence_id}/transcript.vtt",
    summary="The item's speech transcript as WebVTT (one cue per segment, for playback).",
    description=ACCESS + "  Cue identifiers are the segments' finding ids.",
    response_class=Response,
    responses={
        200: {"content": {webvtt.MIME_TYPE: {}}, "description": "The WebVTT file."},
        **error_responses(401, 403, 404, 410, 422),
    },
)
async def get_transcript_vtt(
    evidence_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> Response:
    found = await speech_service.read_transcript(
        session, principal, auditor, evidence_id, fmt="vtt"
    )
    return Response(
        content=found.vtt(),
        media_type=f"{webvtt.MIME_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{found.item.id}.vtt"'},
    )
