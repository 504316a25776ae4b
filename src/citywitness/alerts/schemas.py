"""Request and response bodies of the alerts API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from citywitness.alerts.kinds import Action, AlertState, Severity


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AlertOut(BaseModel):
    """An alert: what, how bad, where it stands, who and where it is about."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    severity: Severity
    state: AlertState
    title: str
    department_id: uuid.UUID | None
    recorder_id: uuid.UUID | None
    officer_id: uuid.UUID | None
    lat: float | None
    lon: float | None
    occurred_at: datetime
    last_occurred_at: datetime
    occurrences: int = Field(description="Triggers counted on this alert while it was open.")
    details: dict[str, Any]
    evidence_ids: list[uuid.UUID]
    snapshot_sha256: str | None
    created_at: datetime
    updated_at: datetime


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")


class AlertEventOut(BaseModel):
    """One step of an alert's life (append-only)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    from_state: str | None
    to_state: str
    actor_user_id: uuid.UUID | None
    note: str | None
    at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    alert_event_id: int
    channel: str
    target_id: uuid.UUID
    state: str
    attempts: int
    delivered_at: datetime | None
    last_error: str | None


class AlertDetail(AlertOut):
    events: list[AlertEventOut]
    deliveries: list[DeliveryOut]


class TransitionIn(Request):
    action: Action = Field(description="acknowledge, dispatch, resolve or false_alarm.")
    note: Annotated[str, Field(max_length=2000)] | None = None


class WebhookCreate(Request):
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
    url: AnyHttpUrl = Field(description="Receiver (http or https); gets a signed JSON POST.")
    department_id: uuid.UUID | None = Field(
        default=None, description="Only alerts of this department; null: all (platform-wide)."
    )
    min_severity: Severity = Severity.INFO


class WebhookUpdate(Request):
    name: (
        Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")] | None
    ) = None
    url: AnyHttpUrl | None = None
    min_severity: Severity | None = None
    active: bool | None = None


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    url: str
    department_id: uuid.UUID | None
    min_severity: Severity
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="HMAC-SHA256 signing secret; shown once.")


class WebhookList(BaseModel):
    items: list[WebhookOut]
