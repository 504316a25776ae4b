"""Builders for the devices tests: recorders, enrolled devices, messages."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from citywitness.agencies.service import ensure_officer
from citywitness.devices.credentials import issue_credential
from citywitness.devices.models import Recorder, RecorderState
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.state import ensure_state_row
from citywitness.kit.db import Database
from tests.factories import EMERGENCY_MANAGEMENT, PUBLIC_SECURITY, TRAFFIC_POLICE, URBAN_MANAGEMENT

CODES = {
    PUBLIC_SECURITY: "public-security",
    TRAFFIC_POLICE: "traffic-police",
    URBAN_MANAGEMENT: "urban-management",
    EMERGENCY_MANAGEMENT: "emergency-management",
}


@dataclass(frozen=True)
class Enrolled:
    identity: DeviceIdentity
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Device {self.identity.serial}:{self.secret}"}


def new_serial() -> str:
    return f"BWC-{uuid.uuid4().hex[:10].upper()}"


async def make_recorder(db: Database, department_id: uuid.UUID = PUBLIC_SECURITY) -> Recorder:
    async with db.transaction() as session:
        recorder = Recorder(
            id=uuid.uuid4(),
            serial=new_serial(),
            department_id=department_id,
            state=RecorderState.ACTIVE.value,
        )
        session.add(recorder)
        await session.flush()
        await ensure_state_row(session, recorder.id)
    return recorder


async def make_enrolled(db: Database, department_id: uuid.UUID = PUBLIC_SECURITY) -> Enrolled:
    recorder = await make_recorder(db, department_id)
    async with db.transaction() as session:
        issued = await issue_credential(session, recorder.id)
    identity = DeviceIdentity(
        device_id=recorder.id,
        serial=recorder.serial,
        department_code=CODES[department_id],
        department_id=department_id,
    )
    return Enrolled(identity=identity, secret=issued.secret)


async def make_officer(db: Database, department_id: uuid.UUID = PUBLIC_SECURITY) -> uuid.UUID:
    async with db.transaction() as session:
        officer = await ensure_officer(
            session,
            badge_number=f"B-{uuid.uuid4().hex[:8]}",
            display_name="Officer",
            department_id=department_id,
        )
    return officer.id


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def position(at: datetime, *, lat: float = 31.2304, lon: float = 121.4737) -> dict[str, Any]:
    return {"lat": lat, "lon": lon, "accuracy_m": 4.5, "fix": "beidou", "at": at.isoformat()}


def telemetry_body(
    msg_id: str | None = None, *, count: int = 3, at: datetime | None = None, **extra: Any
) -> dict[str, Any]:
    end = at or now()
    positions = [
        position(end - timedelta(seconds=count - 1 - i), lat=31.2304 + i * 0.0001)
        for i in range(count)
    ]
    return {"msg_id": msg_id or uuid.uuid4().hex, "positions": positions, **extra}


def payload(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
