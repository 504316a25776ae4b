"""Device credentials: a 256-bit random secret per recorder, stored as its SHA-256.

A fast hash is right here (unlike passwords): the secret is random, not guessable, and
MQTT CONNECT and HTTPS telemetry authenticate often.  The MQTT username and the HTTPS
`Authorization: Device <serial>:<secret>` both name the recorder by serial.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.agencies.models import Department
from citywitness.devices.models import DeviceCredential, Recorder, RecorderState
from citywitness.devices.mqtt_passwd import mosquitto_hash
from citywitness.devices.principal import DeviceIdentity
from citywitness.kit.clock import utcnow
from citywitness.kit.hashing import constant_time_equal, sha256_hex

__all__ = [
    "DeviceIdentity",
    "IssuedCredential",
    "authenticate_device",
    "issue_credential",
    "revoke_credentials",
]

SECRET_PREFIX = "cwd_"  # noqa: S105 - a marker, not a secret
_DUMMY_HASH = sha256_hex("not a secret")


@dataclass(frozen=True)
class IssuedCredential:
    credential_id: uuid.UUID
    secret: str


def new_device_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


async def revoke_credentials(
    session: AsyncSession, recorder_id: uuid.UUID, *, now: datetime | None = None
) -> int:
    """Revoke every live credential of a recorder; how many were live."""
    result = await session.execute(
        update(DeviceCredential)
        .where(DeviceCredential.recorder_id == recorder_id, DeviceCredential.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .returning(DeviceCredential.id)
    )
    return len(result.all())


async def issue_credential(
    session: AsyncSession,
    recorder_id: uuid.UUID,
    *,
    enrollment_code_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> IssuedCredential:
    """A new credential for the recorder, replacing (revoking) any live one."""
    await revoke_credentials(session, recorder_id, now=now)
    secret = new_device_secret()
    credential = DeviceCredential(
        id=uuid.uuid4(),
        recorder_id=recorder_id,
        secret_hash=sha256_hex(secret),
        mosquitto_hash=mosquitto_hash(secret),
        enrollment_code_id=enrollment_code_id,
    )
    session.add(credential)
    await session.flush()
    return IssuedCredential(credential_id=credential.id, secret=secret)


async def authenticate_device(
    session: AsyncSession, username: str, secret: str
) -> DeviceIdentity | None:
    """The recorder whose serial is `username` if `secret` is its live credential.

    None for an unknown serial, a retired recorder, a revoked or wrong secret (the hash
    is compared in constant time, and compared against a dummy when there is no row).
    """
    if not username or len(username) > 64 or len(secret) > 256:
        return None
    row = (
        await session.execute(
            select(
                Recorder.id,
                Recorder.serial,
                Department.code,
                Department.id,
                DeviceCredential.secret_hash,
            )
            .join(DeviceCredential, DeviceCredential.recorder_id == Recorder.id)
            .join(Department, Department.id == Recorder.department_id)
            .where(
                Recorder.serial == username,
                Recorder.state == RecorderState.ACTIVE.value,
                DeviceCredential.revoked_at.is_(None),
            )
        )
    ).first()
    offered = sha256_hex(secret)
    if row is None:
        constant_time_equal(offered, _DUMMY_HASH)
        return None
    device_id, serial, department_code, department_id, stored = row
    if not constant_time_equal(offered, stored):
        return None
    return DeviceIdentity(
        device_id=device_id,
        serial=serial,
        department_code=department_code,
        department_id=department_id,
    )
