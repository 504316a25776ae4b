"""Enrollment: an admin issues a one-time code; the recorder trades it for its credential.

A code is 10 characters of Crockford base32 (50 bits), shown as `XXXXX-XXXXX`; typing is
forgiving (case, dashes, spaces, O/0 and I/L/1).  Only SHA-256(recorder id, code) is
stored.  A code expires (`enrollment_code_ttl_minutes`), works once, and a new code
replaces any pending one.  After `enrollment_max_attempts` wrong codes for a recorder, its
pending code is burned.  Every failure (unknown serial, no pending code, wrong, used,
expired or burned code) gets the same answer, 401 `enrollment_failed`; the audit trail
keeps the real reason.  Re-enrolling replaces (revokes) the previous credential.
"""

from __future__ import annotations

import enum
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.agencies.models import Department
from citywitness.audit.service import Auditor, Outcome
from citywitness.devices.credentials import (
    IssuedCredential,
    issue_credential,
    revoke_credentials,
)
from citywitness.devices.errors import RecorderRetired
from citywitness.devices.models import EnrollmentCode, Recorder, RecorderState
from citywitness.devices.service import RECORDER, managed_recorder
from citywitness.kit.hashing import constant_time_equal, sha256_hex

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_LENGTH = 10
_TYPO = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_code(code: str) -> str:
    return code.upper().replace("-", "").replace(" ", "").translate(_TYPO)


def code_hash(recorder_id: uuid.UUID, code: str) -> str:
    return sha256_hex(f"{recorder_id}:{normalize_code(code)}")


@dataclass(frozen=True)
class IssuedCode:
    recorder: Recorder
    code: str
    expires_at: datetime


async def create_enrollment_code(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    recorder_id: uuid.UUID,
    *,
    ttl: timedelta,
    now: datetime,
) -> IssuedCode:
    """A new one-time code for the recorder (devices:manage); replaces any pending code."""
    recorder = await managed_recorder(session, principal, recorder_id)
    issued = await issue_code(session, recorder, ttl=ttl, now=now, created_by=principal.user_id)
    await auditor.record(
        "devices.enrollment_code",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
        details={"expires_at": issued.expires_at.isoformat()},
    )
    return issued


async def issue_code(
    session: AsyncSession,
    recorder: Recorder,
    *,
    ttl: timedelta,
    now: datetime,
    created_by: uuid.UUID | None,
) -> IssuedCode:
    """The rule without the caller check (the CLI uses it): active recorders only."""
    if recorder.state != RecorderState.ACTIVE.value:
        raise RecorderRetired
    await session.execute(
        delete(EnrollmentCode).where(
            EnrollmentCode.recorder_id == recorder.id, EnrollmentCode.used_at.is_(None)
        )
    )
    code = new_code()
    row = EnrollmentCode(
        id=uuid.uuid4(),
        recorder_id=recorder.id,
        code_hash=code_hash(recorder.id, code),
        expires_at=now + ttl,
        failed_attempts=0,
        created_by=created_by,
    )
    session.add(row)
    await session.flush()
    return IssuedCode(recorder=recorder, code=code, expires_at=row.expires_at)


class EnrollFailure(enum.StrEnum):
    UNKNOWN_SERIAL = "unknown_serial"
    NO_PENDING_CODE = "no_pending_code"
    EXPIRED = "expired"
    BURNED = "too_many_attempts"
    WRONG_CODE = "wrong_code"


@dataclass(frozen=True)
class EnrollOutcome:
    recorder: Recorder | None
    department_code: str | None = None
    issued: IssuedCredential | None = None
    failure: EnrollFailure | None = None


async def _attempt(
    session: AsyncSession, serial: str, code: str, *, now: datetime, max_attempts: int
) -> EnrollOutcome:
    found = (
        await session.execute(
            select(Recorder, Department.code)
            .join(Department, Department.id == Recorder.department_id)
            .where(Recorder.serial == serial, Recorder.state == RecorderState.ACTIVE.value)
        )
    ).first()
    if found is None:
        return EnrollOutcome(None, failure=EnrollFailure.UNKNOWN_SERIAL)
    recorder, department_code = found
    pending = (
        await session.execute(
            select(EnrollmentCode)
            .where(EnrollmentCode.recorder_id == recorder.id, EnrollmentCode.used_at.is_(None))
            .order_by(EnrollmentCode.created_at.desc())
            .limit(1)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if pending is None:
        return EnrollOutcome(recorder, failure=EnrollFailure.NO_PENDING_CODE)
    if pending.expires_at <= now:
        return EnrollOutcome(recorder, failure=EnrollFailure.EXPIRED)
    if pending.failed_attempts >= max_attempts:
        return EnrollOutcome(recorder, failure=EnrollFailure.BURNED)
    if not constant_time_equal(code_hash(recorder.id, code), pending.code_hash):
        pending.failed_attempts += 1
        await session.flush()
        return EnrollOutcome(recorder, failure=EnrollFailure.WRONG_CODE)
    pending.used_at = now
    issued = await issue_credential(session, recorder.id, enrollment_code_id=pending.id, now=now)
    return EnrollOutcome(recorder, department_code=department_code, issued=issued)


async def enroll(
    session: AsyncSession,
    auditor: Auditor,
    *,
    serial: str,
    code: str,
    now: datetime,
    max_attempts: int,
) -> EnrollOutcome:
    """Trade a code for a credential; the outcome says why not.  Audited either way.

    The caller commits whatever the outcome (a wrong code counts), then answers the
    failure with `EnrollmentFailed`.
    """
    outcome = await _attempt(session, serial, code, now=now, max_attempts=max_attempts)
    recorder = outcome.recorder
    await auditor.record(
        "devices.enroll",
        outcome=Outcome.SUCCESS if outcome.failure is None else Outcome.FAILURE,
        object_type=RECORDER,
        object_id=recorder.id if recorder else None,
        department_id=recorder.department_id if recorder else None,
        details={"serial": serial[:64]}
        | ({"reason": outcome.failure.value} if outcome.failure else {}),
    )
    return outcome


async def revoke(
    session: AsyncSession, principal: Principal, auditor: Auditor, recorder_id: uuid.UUID
) -> int:
    """Revoke the recorder's credential now (devices:manage); how many were live."""
    recorder = await managed_recorder(session, principal, recorder_id, Permission.DEVICES_MANAGE)
    revoked = await revoke_credentials(session, recorder.id)
    await auditor.record(
        "devices.credentials_revoke",
        object_type=RECORDER,
        object_id=recorder.id,
        department_id=recorder.department_id,
        details={"revoked": revoked},
    )
    return revoked
