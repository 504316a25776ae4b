"""Request and response bodies of the grants API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from citywitness.access.permissions import Permission


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object_type: str = Field(min_length=1, max_length=60, description="e.g. officer.")
    object_id: uuid.UUID
    permission: Permission = Field(description="The permission granted on that one object.")
    grantee_user_id: uuid.UUID | None = Field(default=None, description="A user, or ...")
    grantee_department_id: uuid.UUID | None = Field(
        default=None, description="... every member of a department (exactly one of the two)."
    )
    reason: str = Field(min_length=1, max_length=500, description="Why; kept in the audit trail.")
    expires_at: datetime | None = Field(
        default=None, description="When the grant lapses (timezone required); unset: never."
    )

    @model_validator(mode="after")
    def _one_grantee(self) -> GrantCreate:
        if (self.grantee_user_id is None) == (self.grantee_department_id is None):
            raise ValueError("name exactly one of grantee_user_id and grantee_department_id")
        if not self.reason.strip():
            raise ValueError("reason must not be blank")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a timezone")
        return self


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    object_type: str
    object_id: uuid.UUID
    permission: str
    grantee_user_id: uuid.UUID | None
    grantee_department_id: uuid.UUID | None
    granted_by: uuid.UUID
    reason: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool = Field(description="Neither revoked nor expired at the time of the answer.")


class GrantList(BaseModel):
    items: list[GrantOut]
