"""The messages a recorder sends (MQTT and HTTPS alike): pure, strict pydantic models.

Every message is one JSON object (UTF-8, at most `MAX_PAYLOAD_BYTES`) and carries a
device-generated `msg_id` (a UUID or any string of 1-64 characters from
`[A-Za-z0-9._:-]`) so that a retried message is stored once (dedup on (recorder, msg_id)).
Times are RFC 3339 with an offset (`2026-11-24T08:00:00Z`); naive times are refused.
Unknown fields are refused, so a typo is a 422, not silently lost data.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from citywitness.devices.errors import InvalidDeviceMessage

MAX_PAYLOAD_BYTES = 65_536
MAX_POSITIONS = 100
MAX_DETAIL_KEYS = 32
MAX_DETAIL_BYTES = 4_096

MessageKind = Literal["telemetry", "event", "status"]
MESSAGE_KINDS: tuple[MessageKind, ...] = ("telemetry", "event", "status")

Fix = Literal["gps", "beidou", "glonass", "galileo", "network", "mixed"]
EventKind = Literal[
    "recording_started",
    "recording_stopped",
    "sos",
    "sos_cancelled",
    "low_battery",
    "tamper",
    "storage_full",
    "power_on",
    "power_off",
    "command_ack",  # details: command_id, status, detail (see devices/commands_device.py)
]
DeviceState = Literal["online", "offline"]

MsgId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Device-generated id of this message (a UUID is fine); retries reuse it.",
    ),
]
Percent = Annotated[float, Field(ge=0, le=100, description="Battery charge, percent.")]
StorageMb = Annotated[int, Field(ge=0, le=100_000_000, description="Free storage, MiB.")]
Celsius = Annotated[float, Field(ge=-60, le=150, description="Device temperature, Celsius.")]
Dbm = Annotated[int, Field(ge=-160, le=0, description="Cellular signal strength, dBm.")]
Firmware = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[ -~]+$", description="Firmware version.")
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Position(_Strict):
    """One GNSS or network fix."""

    lat: float = Field(ge=-90, le=90, description="WGS 84 latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="WGS 84 longitude, degrees.")
    accuracy_m: float | None = Field(
        default=None, ge=0, le=100_000, description="Horizontal accuracy (1 sigma), metres."
    )
    speed_mps: float | None = Field(
        default=None, ge=0, le=150, description="Ground speed, metres per second."
    )
    heading_deg: float | None = Field(
        default=None, ge=0, lt=360, description="Course over ground, degrees from true north."
    )
    fix: Fix = Field(description="Where the fix came from (gps, beidou, ... network).")
    at: AwareDatetime = Field(description="When the fix was taken (device clock).")


class Health(_Strict):
    """Health readings a telemetry or status message may carry (all optional)."""

    battery_pct: Percent | None = None
    storage_free_mb: StorageMb | None = None
    temperature_c: Celsius | None = None
    signal_dbm: Dbm | None = None
    recording: bool | None = Field(default=None, description="Whether the recorder is recording.")


class TelemetryMessage(Health):
    """Positions (1-100, oldest first or in any order) plus optional health readings."""

    msg_id: MsgId
    positions: list[Position] = Field(min_length=1, max_length=MAX_POSITIONS)


class StatusMessage(Health):
    """A status report; `state: offline` is what a recorder sets as its MQTT last will."""

    msg_id: MsgId
    at: AwareDatetime | None = Field(
        default=None, description="When the status was taken (device clock); default: received."
    )
    state: DeviceState = "online"
    firmware: Firmware | None = None


class EventMessage(_Strict):
    """Something happened on the recorder: recording started/stopped, SOS, tamper..."""

    msg_id: MsgId
    kind: EventKind
    at: AwareDatetime = Field(description="When it happened (device clock).")
    position: Position | None = None
    details: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        description=f"Flat key/value details, at most {MAX_DETAIL_KEYS} keys.",
    )

    @field_validator("details")
    @classmethod
    def _small_details(
        cls, value: dict[str, str | int | float | bool | None]
    ) -> dict[str, str | int | float | bool | None]:
        if len(value) > MAX_DETAIL_KEYS:
            raise ValueError(f"at most {MAX_DETAIL_KEYS} keys")
        if len(json.dumps(value)) > MAX_DETAIL_BYTES:
            raise ValueError(f"at most {MAX_DETAIL_BYTES} bytes as JSON")
        return value


DeviceMessage = TelemetryMessage | EventMessage | StatusMessage

_MODELS: dict[str, type[TelemetryMessage] | type[EventMessage] | type[StatusMessage]] = {
    "telemetry": TelemetryMessage,
    "event": EventMessage,
    "status": StatusMessage,
}


def _field_errors(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"]) or "body"
        fields.setdefault(loc, err["msg"])
    return fields


def parse_message(kind: MessageKind | str, payload: bytes) -> DeviceMessage:
    """The message of `kind` in `payload`; InvalidDeviceMessage (422) with field errors."""
    model = _MODELS.get(kind)
    if model is None:
        raise InvalidDeviceMessage(
            "unknown message kind", fields={"kind": "telemetry, event or status"}
        )
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidDeviceMessage(
            "message too large", fields={"body": f"at most {MAX_PAYLOAD_BYTES} bytes"}
        )
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        fields = _field_errors(exc)
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            fields = {"body": "not a JSON object"}
        raise InvalidDeviceMessage(fields=fields) from exc


def message_time(message: DeviceMessage, received_at: datetime) -> datetime:
    """The device time a message is about: its newest position, its `at`, or arrival."""
    if isinstance(message, TelemetryMessage):
        return max(p.at for p in message.positions)
    if message.at is not None:
        return message.at
    return received_at


def dump_details(details: dict[str, Any]) -> str:
    return json.dumps(details, separators=(",", ":"), sort_keys=True)
