"""Request and response bodies of the redaction API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from citywitness.analysis.redaction_models import Redaction, RedactionState, RedactionTrack

MAX_TRACK_KEYFRAMES = 20_000
MAX_MUTE_RANGES = 100
API_PREFIX = "/api/v1"
DOWNLOADABLE = (RedactionState.RENDERED, RedactionState.PUBLISHED)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MuteRange(_In):
    start_s: float = Field(ge=0, description="Start of the silenced range, seconds.")
    end_s: float = Field(gt=0, description="End of the silenced range, seconds.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        return self


class BoxIn(_In):
    """A rectangle in normalised frame coordinates (0..1, origin top left)."""

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _inside(self) -> Self:
        if self.x + self.w > 1.0001 or self.y + self.h > 1.0001:
            raise ValueError("the box must lie inside the frame")
        return self


class KeyframeIn(BoxIn):
    t: float = Field(ge=0, description="Time of this box, seconds from the start.")


class RedactionCreate(_In):
    mode: Literal["blur", "solid"] = Field("blur", description="Blur, or fill black.")
    faces: bool = Field(default=True, description="Detect and cover faces.")
    plates: bool = Field(default=True, description="Detect and cover licence plates.")
    every: int = Field(2, ge=1, le=30, description="Run the detectors on every n-th frame.")
    mute: list[MuteRange] = Field(default_factory=list, max_length=MAX_MUTE_RANGES)


class TrackCreate(_In):
    """A reviewer's box: one rectangle held over [start_s, end_s], or moving keyframes."""

    label: Literal["face", "plate", "manual"] = "manual"
    start_s: float = Field(ge=0)
    end_s: float = Field(gt=0)
    box: BoxIn | None = None
    keyframes: list[KeyframeIn] | None = Field(None, min_length=1, max_length=MAX_TRACK_KEYFRAMES)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        if (self.box is None) == (self.keyframes is None):
            raise ValueError("give either box or keyframes")
        return self


class TrackUpdate(_In):
    """Adjust a track: its span, its boxes, or whether it is removed (a false detection)."""

    start_s: float | None = Field(None, ge=0)
    end_s: float | None = Field(None, gt=0)
    keyframes: list[KeyframeIn] | None = Field(None, min_length=1, max_length=MAX_TRACK_KEYFRAMES)
    removed: bool | None = None


class MuteUpdate(_In):
    ranges: list[MuteRange] = Field(max_length=MAX_MUTE_RANGES)


class TrackOut(BaseModel):
    id: uuid.UUID
    label: str
    source: str
    start_s: float
    end_s: float
    removed: bool
    keyframes: list[dict[str, float]]
    changed_by: uuid.UUID | None
    changed_at: datetime | None

    @classmethod
    def of(cls, track: RedactionTrack) -> TrackOut:
        return cls(
            id=track.id,
            label=track.label,
            source=track.source,
            start_s=track.start_s,
            end_s=track.end_s,
            removed=track.removed,
            keyframes=track.keyframes,
            changed_by=track.changed_by,
            changed_at=track.changed_at,
        )


class TrackList(BaseModel):
    items: list[TrackOut]


class RedactionOut(BaseModel):
    id: uuid.UUID
    evidence_id: uuid.UUID
    state: RedactionState
    mode: str
    faces: bool
    plates: bool
    every: int
    mute: list[MuteRange]
    original_sha256: str
    plan_sha256: str | None
    derivative_sha256: str | None
    derivative_size: int | None
    frames: int | None
    duration_s: float | None
    error_code: str | None
    requested_by: uuid.UUID
    published_by: uuid.UUID | None
    created_at: datetime
    detected_at: datetime | None
    rendered_at: datetime | None
    published_at: datetime | None
    video_url: str | None = Field(
        description="Where the redacted video is downloaded (GET), once rendered; else null."
    )

    @classmethod
    def of(cls, redaction: Redaction) -> RedactionOut:
        computed = {"mute", "video_url"}
        values: dict[str, Any] = {
            k: getattr(redaction, k) for k in cls.model_fields if k not in computed
        }
        mute = [MuteRange(start_s=a, end_s=b) for a, b in redaction.mute]
        made = redaction.state in DOWNLOADABLE and redaction.derivative_sha256 is not None
        video = f"{API_PREFIX}/redactions/{redaction.id}/video" if made else None
        return cls(**values, mute=mute, video_url=video)


class RedactionList(BaseModel):
    items: list[RedactionOut]


class MuteSuggestionOut(BaseModel):
    start_s: float = Field(description="Start of the suggested range, seconds (padded).")
    end_s: float = Field(description="End of the suggested range, seconds (padded).")
    finding_id: int = Field(description="The speech finding (transcript segment) it comes from.")
    digits: int = Field(description="How many digits were spoken in the range.")


class MuteSuggestionList(BaseModel):
    items: list[MuteSuggestionOut]
