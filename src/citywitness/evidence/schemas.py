"""Evidence request and response shapes, and the validated metadata an ingest carries."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from citywitness.access.levels import Classification
from citywitness.evidence.errors import InvalidMetadata
from citywitness.evidence.geo import Track, parse_track
from citywitness.evidence.models import EvidenceKind, EvidenceState, IngestChannel

ClassificationLabel = Literal["public", "internal", "sensitive", "secret"]
MAX_TAGS = 50
MAX_NOTES = 10_000


def _no_controls(value: str, *, allow_newlines: bool = False) -> str:
    allowed = {"\n", "\t", "\r"} if allow_newlines else set()
    for char in value:
        if char not in allowed and unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co"}:
            raise ValueError("control or format characters are not allowed")
    return value


def safe_filename(value: str) -> str:
    """A plain file name: no directories, no traversal, no control characters."""
    value = _no_controls(value.strip())
    if not value or value in {".", ".."} or "/" in value or "\\" in value:
        raise ValueError("a plain file name, without directories")
    if value.startswith("..") or value.startswith("~"):
        raise ValueError("a plain file name, without directories")
    return value


def _tag(value: str) -> str:
    value = _no_controls(value.strip())
    if not value:
        raise ValueError("tags are not empty")
    return value


def _line(value: str) -> str:
    return _no_controls(value.strip())


Tag = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_tag)]
Line = Annotated[str, AfterValidator(_line)]
Notes = Annotated[
    str, Field(max_length=MAX_NOTES), AfterValidator(lambda v: _no_controls(v, allow_newlines=True))
]


def unique_tags(tags: list[str]) -> list[str]:
    """Tags in first-seen order, each once (case-insensitively)."""
    seen: set[str] = set()
    kept = []
    for tag in tags:
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            kept.append(tag)
    return kept


class IngestMetadata(BaseModel):
    """What arrives with a file: claims and descriptions, all validated, none trusted.

    Build one from untrusted input with `IngestMetadata.parse(...)` (422 `invalid_metadata`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    filename: Annotated[str, Field(min_length=1, max_length=255), AfterValidator(safe_filename)]
    media_type: str | None = Field(
        default=None, max_length=120, pattern=r"^[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+(;.{0,80})?$"
    )
    kind: EvidenceKind | None = None
    officer_id: uuid.UUID | None = None
    officer_badge: Annotated[Line, Field(min_length=1, max_length=40)] | None = None
    recorder_serial: str | None = Field(
        default=None, min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    category_code: str | None = Field(
        default=None, min_length=1, max_length=60, pattern=r"^[a-z0-9-]+$"
    )
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    notes: Notes = ""
    classification: ClassificationLabel | None = None
    captured_start: datetime | None = None
    captured_end: datetime | None = None
    gps_track: Track | None = None

    @field_validator("gps_track", mode="before")
    @classmethod
    def _track(cls, value: Any) -> Any:
        return None if value is None else parse_track(value)

    @field_validator("captured_start", "captured_end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a time with a UTC offset")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> IngestMetadata:
        if self.officer_id is not None and self.officer_badge is not None:
            raise ValueError("give officer_id or officer_badge, not both")
        start, end = self.captured_start, self.captured_end
        if start is not None and end is not None and end < start:
            raise ValueError("captured_end is before captured_start")
        return self

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> IngestMetadata:
        """Validate untrusted metadata; `InvalidMetadata` (422) names every bad field."""
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            fields = {
                ".".join(str(p) for p in err["loc"]) or "metadata": err["msg"]
                for err in exc.errors()
            }
            raise InvalidMetadata(fields=fields) from None


class EvidenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: EvidenceKind
    state: EvidenceState
    sha256: str
    size_bytes: int
    original_filename: str
    media_type: str
    container: str | None
    video_codec: str | None
    audio_codec: str | None
    duration_seconds: float | None
    width: int | None
    height: int | None
    media_facts: dict[str, Any]
    captured_start: datetime | None
    captured_end: datetime | None
    recorder_serial: str | None
    officer_id: uuid.UUID | None
    department_id: uuid.UUID
    category_id: uuid.UUID | None
    tags: list[str]
    notes: str
    classification: ClassificationLabel
    gps_track: dict[str, Any] | None
    retain_until: datetime | None
    ingest_channel: IngestChannel
    uploaded_by: uuid.UUID | None
    created_at: datetime
    derivatives: list[str] = Field(
        default_factory=list,
        description=(
            "Derivatives made so far: `thumbnail`, `proxy` (redacted videos are listed by "
            "GET /evidence/{id}/redactions, for redaction:review)."
        ),
    )

    @field_validator("classification", mode="before")
    @classmethod
    def _label(cls, value: Any) -> Any:
        return Classification(value).label if isinstance(value, int) else value


class EvidencePage(BaseModel):
    items: list[EvidenceOut]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page.")


class EvidenceUpdate(BaseModel):
    """Fields to change; absent fields stay.  Classification needs evidence:manage."""

    model_config = ConfigDict(extra="forbid")

    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
    notes: Notes | None = None
    category_code: str | None = Field(
        default=None, min_length=1, max_length=60, pattern=r"^[a-z0-9-]+$"
    )
    classification: ClassificationLabel | None = None
    officer_id: uuid.UUID | None = None
    recorder_serial: str | None = Field(
        default=None, min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    captured_start: datetime | None = None
    captured_end: datetime | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    name_zh: str | None
    evidentiary: bool
    retention_days: int | None = Field(description="Days kept at least; null: permanent.")
    legal_basis: str
    default_classification: ClassificationLabel

    @field_validator("default_classification", mode="before")
    @classmethod
    def _label(cls, value: Any) -> Any:
        return Classification(value).label if isinstance(value, int) else value


class CategoryList(BaseModel):
    items: list[CategoryOut]


class CategoryUpdate(BaseModel):
    """A category's retention policy; absent fields stay.  `retention_days` null: permanent.

    A new period applies to items captured in the category from now on; the daily retention
    job lengthens existing items' retention to it (the longest rule wins), never shortens it.
    """

    model_config = ConfigDict(extra="forbid")

    retention_days: int | None = Field(
        default=None, ge=1, le=36_500, description="Days kept at least; null: permanent."
    )
    legal_basis: str | None = Field(default=None, max_length=500)

    def changes(self) -> dict[str, Any]:
        found = self.model_dump(exclude_unset=True)
        if found.get("legal_basis", "") is None:
            found["legal_basis"] = ""
        return found
