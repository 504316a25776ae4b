"""Request and response bodies of the devices API (consoles and recorders)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from citywitness.devices.models import RecorderState

Serial = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Serial number: letters, digits, `.`, `_`, `-` (it is the MQTT username).",
    ),
]
Imei = Annotated[str, Field(pattern=r"^\d{15}$", description="15-digit IMEI.")]
Iccid = Annotated[str, Field(pattern=r"^\d{18,22}$", description="SIM ICCID (18-22 digits).")]
Text120 = Annotated[str, Field(min_length=1, max_length=120)]
Firmware = Annotated[str, Field(min_length=1, max_length=64)]
Notes = Annotated[str, Field(max_length=2000)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RecorderCreate(Request):
    serial: Serial
    department_id: uuid.UUID
    model: Text120 | None = None
    firmware: Firmware | None = None
    imei: Imei | None = None
    iccid: Iccid | None = None
    notes: Notes | None = None


class RecorderUpdate(Request):
    """A partial update: only the fields sent change.  Retiring revokes the credential."""

    model: Text120 | None = None
    firmware: Firmware | None = None
    imei: Imei | None = None
    iccid: Iccid | None = None
    notes: Notes | None = None
    state: RecorderState | None = None

    @model_validator(mode="after")
    def _state_not_null(self) -> RecorderUpdate:
        if "state" in self.model_fields_set and self.state is None:
            raise ValueError("state cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.model_fields_set}


class DeviceStateOut(BaseModel):
    """The latest state of a recorder (hot; written at most once a second)."""

    model_config = ConfigDict(from_attributes=True)

    online: bool
    last_seen_at: datetime | None
    last_transport: str | None
    battery_pct: float | None
    storage_free_mb: int | None
    temperature_c: float | None
    signal_dbm: int | None
    recording: bool | None
    firmware: str | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    speed_mps: float | None
    heading_deg: float | None
    fix: str | None
    position_at: datetime | None


class BindingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    recorder_id: uuid.UUID
    officer_id: uuid.UUID
    started_at: datetime
    ended_at: datetime | None


class RecorderOut(BaseModel):
    id: uuid.UUID
    serial: str
    department_id: uuid.UUID
    model: str | None
    firmware: str | None
    imei: str | None
    iccid: str | None
    notes: str | None
    state: RecorderState
    enrolled: bool = Field(description="Whether a live device credential exists.")
    created_at: datetime
    updated_at: datetime
    latest: DeviceStateOut | None = Field(description="Latest state; null before any message.")
    binding: BindingOut | None = Field(description="The open shift binding, if any.")


class RecorderPage(BaseModel):
    items: list[RecorderOut]
    next_cursor: str | None


class BindIn(Request):
    officer_id: uuid.UUID
    started_at: AwareDatetime | None = Field(
        default=None, description="Start of the shift; default: now."
    )


class UnbindIn(Request):
    ended_at: AwareDatetime | None = Field(default=None, description="End; default: now.")


class BindingList(BaseModel):
    items: list[BindingOut]


class EnrollmentCodeOut(BaseModel):
    recorder_id: uuid.UUID
    code: str = Field(description="Shown once; type it into the recorder.")
    expires_at: datetime


class EnrollIn(Request):
    serial: Serial
    code: str = Field(min_length=1, max_length=32, description="The one-time enrollment code.")


class EnrollOut(BaseModel):
    recorder_id: uuid.UUID
    serial: str
    department_code: str
    secret: str = Field(description="The device secret: shown once, store it on the device.")
    mqtt_username: str
    topic_prefix: str = Field(description="cw/<department_code>/<serial>/")
    http_authorization: str = Field(description="Authorization header value for HTTPS calls.")


class RevokeOut(BaseModel):
    recorder_id: uuid.UUID
    revoked: int = Field(description="How many live credentials were revoked (0 or 1).")


class AcceptOut(BaseModel):
    msg_id: str
    duplicate: bool
    positions: int = Field(description="Positions newly stored.")


class LineString(BaseModel):
    type: Literal["LineString"] = "LineString"
    coordinates: list[list[float]]


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any]
    properties: dict[str, Any]


class TrackOut(BaseModel):
    """A page of positions as GeoJSON: a FeatureCollection of points or one LineString."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]
    next_cursor: str | None


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    recorder_id: uuid.UUID
    officer_id: uuid.UUID | None
    kind: str
    source: str
    at: datetime
    received_at: datetime
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    details: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None
