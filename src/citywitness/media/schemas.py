"""API shapes of the media domain: opening a session, segment answers, sessions and reports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from citywitness.media.models import LiveSession, SessionReport

HEX64 = r"^[0-9a-fA-F]{64}$"


class CodecInfo(BaseModel):
    """What the recorder says it records (informative; segments are probed anyway)."""

    model_config = ConfigDict(extra="forbid")

    video_codec: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    audio_codec: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    width: int | None = Field(default=None, ge=16, le=8192)
    height: int | None = Field(default=None, ge=16, le=8192)
    frame_rate: float | None = Field(default=None, gt=0, le=240)


class SessionOpenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = Field(
        default=None,
        description="A session id the recorder chose (makes retrying the open idempotent).",
    )
    format: Literal["fmp4", "ts"] = Field(description="fmp4: init + fragments; ts: MPEG-TS.")
    started_at: AwareDatetime | None = Field(
        default=None, description="When recording started (device clock); default: now."
    )
    target_duration: int = Field(
        default=2, ge=1, le=10, description="Intended segment length in seconds (HLS target)."
    )
    init_segment: str | None = Field(
        default=None,
        max_length=6 * 1024 * 1024,
        description="fMP4 only, required: the init segment (ftyp+moov), standard base64.",
    )
    init_sha256: str | None = Field(
        default=None, pattern=HEX64, description="SHA-256 of the init segment, checked if sent."
    )
    codec_info: CodecInfo = Field(default_factory=CodecInfo)


class SessionOut(BaseModel):
    id: uuid.UUID
    evidence_id: uuid.UUID
    recorder_id: uuid.UUID
    department_id: uuid.UUID
    officer_id: uuid.UUID | None
    format: str
    state: str
    genesis: str = Field(description="The `CW-Prev-SHA256` of segment 0 (docs/media.md).")
    init_sha256: str | None
    target_duration: int
    codec_info: dict[str, Any]
    started_at: datetime
    last_segment_at: datetime
    segments: int
    bytes: int
    duration_seconds: float
    max_seq: int
    contiguous_seq: int = Field(description="Every segment 0..this one has arrived.")
    ended_at: datetime | None
    end_reason: str | None
    sealed_at: datetime | None
    final_sha256: str | None

    @classmethod
    def of(cls, live: LiveSession) -> SessionOut:
        return cls(
            id=live.id,
            evidence_id=live.evidence_id,
            recorder_id=live.recorder_id,
            department_id=live.department_id,
            officer_id=live.officer_id,
            format=live.format,
            state=live.state,
            genesis=live.genesis,
            init_sha256=live.init_sha256,
            target_duration=live.target_duration,
            codec_info=live.codec_info,
            started_at=live.started_at,
            last_segment_at=live.last_segment_at,
            segments=live.segments,
            bytes=live.bytes,
            duration_seconds=live.duration_seconds,
            max_seq=live.max_seq,
            contiguous_seq=live.contiguous_seq,
            ended_at=live.ended_at,
            end_reason=live.end_reason,
            sealed_at=live.sealed_at,
            final_sha256=live.final_sha256,
        )


class SegmentOut(BaseModel):
    session_id: uuid.UUID
    seq: int
    sha256: str
    duplicate: bool = Field(description="The same segment was already stored (a retry).")
    late: bool = Field(description="It arrived after a later segment (reordered).")
    chain_verified: bool = Field(
        description="Its predecessor is known and links to it (false: checked when it arrives)."
    )
    gap: list[int] | None = Field(
        default=None, description="[first, last] sequence numbers found missing before it."
    )
    duration_seconds: float


class ReportOut(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    kind: str
    seq: int | None
    details: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, report: SessionReport) -> ReportOut:
        return cls(
            id=report.id,
            session_id=report.session_id,
            kind=report.kind,
            seq=report.seq,
            details=report.details,
            created_at=report.created_at,
        )


class SessionPage(BaseModel):
    items: list[SessionOut]


class ReportList(BaseModel):
    items: list[ReportOut]
