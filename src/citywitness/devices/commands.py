"""Commands to recorders: the kinds and their params, the state machine, the wire format.

A command goes `pending` (issued) -> `sent` (published over MQTT, or fetched by an HTTPS
poll) -> `acknowledged` (the recorder has it) -> one final state: `succeeded`, `failed`,
`rejected` (the wearer declined a live view), `timed_out` (no outcome before
`expires_at`) or `cancelled` (by an operator).  A step may be skipped (a recorder may
answer `succeeded` at once), never taken back.  Every transition is one append-only
`device_command_events` row written with the change of `device_commands.state`.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.commands_errors import InvalidCommand
from citywitness.devices.commands_models import DeviceCommand, DeviceCommandEvent

CommandKind = Literal[
    "start_recording", "stop_recording", "request_live_view", "text_message", "locate_now"
]
CommandState = Literal[
    "pending",
    "sent",
    "acknowledged",
    "succeeded",
    "failed",
    "rejected",
    "timed_out",
    "cancelled",
]
AckStatus = Literal["acknowledged", "succeeded", "failed", "rejected"]
ConsentPolicy = Literal["always", "never", "when_not_recording"]
Source = Literal["user", "platform", "device"]

OPEN_STATES: frozenset[str] = frozenset({"pending", "sent", "acknowledged"})
FINAL_STATES: frozenset[str] = frozenset(
    {"succeeded", "failed", "rejected", "timed_out", "cancelled"}
)
UNDELIVERED_STATES: frozenset[str] = frozenset({"pending", "sent"})
_ORDER = {"pending": 0, "sent": 1, "acknowledged": 2}

MAX_TEXT = 500
MAX_DETAIL = 500
# Bidirectional overrides and isolates: they can make a message read as something else.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def may_move(from_state: str, to_state: str) -> bool:
    """Forward only: from an open state to a later open state or to any final state."""
    if from_state not in OPEN_STATES:
        return False
    if to_state in FINAL_STATES:
        return True
    return to_state in _ORDER and _ORDER[to_state] > _ORDER[from_state]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(_Params):
    """start_recording, stop_recording and locate_now take no params."""


class LiveViewParams(_Params):
    audio: bool = Field(default=True, description="Stream the microphone too.")


class TextMessageParams(_Params):
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="Shown to the officer.")

    @field_validator("text")
    @classmethod
    def _printable(cls, value: str) -> str:
        for char in value:
            if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
                raise ValueError("control characters are not allowed")
        if not value.strip():
            raise ValueError("must not be blank")
        return value


PARAMS: dict[str, type[_Params]] = {
    "start_recording": NoParams,
    "stop_recording": NoParams,
    "request_live_view": LiveViewParams,
    "text_message": TextMessageParams,
    "locate_now": NoParams,
}


def clean_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The params of `kind`, validated and with defaults; InvalidCommand (422) otherwise."""
    model = PARAMS.get(kind)
    if model is None:
        raise InvalidCommand(fields={"kind": "unknown command kind"})
    try:
        return model.model_validate(params).model_dump()
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors(include_url=False):
            loc = ".".join(str(part) for part in ("params", *err["loc"]))
            fields.setdefault(loc, err["msg"])
        raise InvalidCommand(fields=fields) from exc


def consent_needed(policy: str, recording: bool | None) -> bool:
    """Whether the wearer must accept a live view under `policy` (recording: hot state)."""
    if policy == "never":
        return False
    if policy == "when_not_recording":
        return recording is not True
    return True


async def move(
    session: AsyncSession,
    command: DeviceCommand,
    to_state: str,
    *,
    at: datetime,
    source: Source,
    transport: str | None = None,
    actor_user_id: uuid.UUID | None = None,
    detail: str | None = None,
) -> bool:
    """Move `command` (locked by the caller) to `to_state` and record it; False if not allowed."""
    from_state = command.state
    if not may_move(from_state, to_state):
        return False
    command.state = to_state
    command.updated_at = at
    if to_state == "sent":
        command.sent_at = at
    elif to_state == "acknowledged":
        command.acknowledged_at = at
    elif to_state in FINAL_STATES:
        command.finished_at = at
    if detail is not None:
        command.detail = detail[:MAX_DETAIL]
    session.add(
        DeviceCommandEvent(
            id=uuid.uuid4(),
            command_id=command.id,
            at=at,
            from_state=from_state,
            to_state=to_state,
            source=source,
            transport=transport,
            actor_user_id=actor_user_id,
            detail=detail[:MAX_DETAIL] if detail is not None else None,
        )
    )
    await session.flush()
    return True


def wire_message(command: DeviceCommand) -> dict[str, Any]:
    """What the recorder gets, over MQTT (`cw/<dept>/<serial>/command`) or an HTTPS poll."""
    return {
        "type": "command",
        "command_id": str(command.id),
        "kind": command.kind,
        "params": dict(command.params),
        "consent_required": command.consent_required,
        "expires_at": command.expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def wire_payload(command: DeviceCommand) -> bytes:
    return json.dumps(wire_message(command), separators=(",", ":")).encode()
