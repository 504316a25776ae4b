"""Query and response shapes of the audit-trail API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from citywitness.audit.service import Outcome


class AuditQuery(BaseModel):
    """Filters shared by the JSON list and the CSV export; all combine with AND."""

    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime | None = Field(default=None, description="occurred_at >= since.")
    until: AwareDatetime | None = Field(default=None, description="occurred_at < until.")
    actor_user_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    action: str | None = Field(default=None, max_length=80, description="Exact action.")
    action_prefix: str | None = Field(
        default=None, min_length=1, max_length=80, description="Action starts with, e.g. auth."
    )
    object_type: str | None = Field(default=None, max_length=60)
    object_id: str | None = Field(default=None, max_length=80)
    outcome: Outcome | None = None
    client_address: str | None = Field(default=None, max_length=64)

    def used(self) -> dict[str, str]:
        """The filters set, as strings (recorded in the audit trail of the read itself)."""
        used = self.model_dump(include=set(AuditQuery.model_fields), exclude_none=True)
        return {k: v.isoformat() if isinstance(v, datetime) else str(v) for k, v in used.items()}


class AuditListQuery(AuditQuery):
    limit: int = Field(default=100, ge=1, le=500, description="Events per page.")
    cursor: str | None = Field(
        default=None, max_length=200, description="`next_cursor` of the previous page."
    )


class AuditExportQuery(AuditQuery):
    max_rows: int | None = Field(
        default=None, ge=1, description="Most rows to export; capped by the server setting."
    )


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor_user_id: uuid.UUID | None
    actor_kind: str
    department_id: uuid.UUID | None
    action: str
    object_type: str | None
    object_id: str | None
    outcome: str
    client_address: str | None
    request_id: str | None
    reason: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done.")
