"""Request and response bodies of commands (consoles and recorders)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from citywitness.devices.commands import AckStatus, CommandKind, CommandState, ConsentPolicy


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CommandCreate(_In):
    kind: CommandKind
    params: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "text_message: {text} (1-500 characters, no control characters); "
            "request_live_view: {audio?}; the others: {}."
        ),
    )
    reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=1000,
        description="Why (kept in the audit trail); required for request_live_view.",
    )
    timeout_seconds: int | None = Field(
        default=None, ge=5, le=86_400, description="Default: per kind (devices.commands)."
    )


class CommandEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    from_state: CommandState | None
    to_state: CommandState
    source: Literal["user", "platform", "device"]
    transport: Literal["mqtt", "https"] | None
    actor_user_id: uuid.UUID | None
    detail: str | None


class CommandOut(BaseModel):
    id: uuid.UUID
    recorder_id: uuid.UUID
    department_id: uuid.UUID
    kind: CommandKind
    params: dict[str, Any]
    reason: str | None
    consent_required: bool
    state: CommandState
    created_at: datetime
    created_by: uuid.UUID | None
    expires_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(description="MQTT publications so far.")
    detail: str | None = Field(description="The recorder's last word on the outcome.")
    result: dict[str, Any] | None = Field(
        description="locate_now: the position found (shown with devices:track only)."
    )
    events: list[CommandEventOut] | None = Field(
        default=None, description="Every transition, oldest first (single command only)."
    )


class CommandPage(BaseModel):
    items: list[CommandOut]
    next_cursor: str | None


class PolicyIn(_In):
    live_view_consent: ConsentPolicy = Field(
        description=(
            "always: the wearer must accept every live view; never: live view starts "
            "without asking; when_not_recording: asked unless the recorder is recording."
        )
    )


class PolicyOut(BaseModel):
    department_id: uuid.UUID
    live_view_consent: ConsentPolicy
    source: Literal["department", "default"]
    updated_at: datetime | None


class WireCommand(BaseModel):
    """A command as the recorder gets it (MQTT payload and HTTPS poll item alike)."""

    type: Literal["command"] = "command"
    command_id: uuid.UUID
    kind: CommandKind
    params: dict[str, Any]
    consent_required: bool
    expires_at: datetime


class WireCommandList(BaseModel):
    items: list[WireCommand]


class AckIn(_In):
    status: AckStatus = Field(
        description=(
            "acknowledged: received; succeeded / failed: the outcome; rejected: the wearer "
            "declined (live view with consent_required only)."
        )
    )
    detail: str | None = Field(default=None, max_length=500)


class AckOut(BaseModel):
    command_id: uuid.UUID
    state: CommandState
    duplicate: bool = Field(description="Nothing changed: the command was already there.")
