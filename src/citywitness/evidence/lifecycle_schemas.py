"""Request and response bodies of the evidence lifecycle API (holds, deletion, storage)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ReasonIn(BaseModel):
    """Why: recorded with the change and in the audit trail."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why (1 to 500 characters).")


class HoldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    evidence_id: uuid.UUID
    reason: str
    placed_by: uuid.UUID
    created_at: datetime
    released_at: datetime | None
    released_by: uuid.UUID | None
    release_reason: str | None
    active: bool = Field(description="True while the hold is not released.")


class HoldList(BaseModel):
    items: list[HoldOut]


class DeletionRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    evidence_id: uuid.UUID
    source: str = Field(description="`retention` (expired by policy) or `manual`.")
    state: str = Field(description="pending_approval, in_review, cancelled or done.")
    reason: str
    policy: str
    requested_by: uuid.UUID | None
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    review_until: datetime | None = Field(
        description="The item is destroyed after this instant unless a hold or a cancel stops it."
    )
    cancelled_by: uuid.UUID | None
    cancelled_at: datetime | None
    executed_at: datetime | None
    created_at: datetime


class DeletionList(BaseModel):
    items: list[DeletionRequestOut]


class CertificateOut(BaseModel):
    """Proof that an item was destroyed: what, under which rule, by whose decision, when."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    evidence_id: uuid.UUID
    deletion_request_id: uuid.UUID
    sha256: str
    size_bytes: int
    department_id: uuid.UUID
    policy: str
    reason: str
    requested_by: uuid.UUID | None
    approved_by: uuid.UUID | None
    key_destroyed_at: datetime | None = Field(
        description=(
            "When the wrapped data key was destroyed; null when the content was retained "
            "for other items (content_retained_for)."
        )
    )
    content_retained_for: list[uuid.UUID] | None = Field(
        description=(
            "Other live items still referencing the same content when this item was "
            "destroyed: the content key was kept for them (null: it was destroyed)."
        )
    )
    bytes_destroyed_at: datetime | None = Field(description="When the ciphertext was deleted.")
    destroyed_at: datetime
    created_at: datetime


class StorageOut(BaseModel):
    department_id: uuid.UUID
    items: int = Field(description="Stored, not destroyed evidence items.")
    stored_bytes: int = Field(description="Their plaintext bytes.")
    reserved_bytes: int = Field(description="Declared lengths of open uploads.")
    used_bytes: int = Field(description="stored_bytes + reserved_bytes, counted against quota.")
    quota_bytes: int | None = Field(description="The quota; null means none.")
    available_bytes: int | None = Field(description="quota_bytes - used_bytes (null: no quota).")


class QuotaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quota_bytes: int | None = Field(
        ge=0, le=2**62, description="Bytes the department may store; null removes the quota."
    )
