"""Device passwords for an external Mosquitto: `$7$` hashes and the password file.

The platform authenticates recorders by the SHA-256 of their random secret, which
Mosquitto cannot check.  So when a secret is issued (the only moment it is known),
`credentials.issue_credential` also stores it the way Mosquitto 2's `password_file` wants
it: `$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>`, the format
`mosquitto_passwd` writes (101 iterations, 12-byte salt).  So few iterations are fine
here: the secret is 256 random bits, not a guessable password.

`mosquitto_password_file` writes one `serial:hash` line per active recorder with a live
credential (revoked credentials and retired recorders are left out), plus the bridge.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.models import DeviceCredential, Recorder, RecorderState

MOSQUITTO_PBKDF2_ITERATIONS = 101  # what mosquitto_passwd 2.0 writes
SALT_BYTES = 12


def mosquitto_hash(secret: str, *, salt: bytes | None = None, iterations: int = 0) -> str:
    """`$7$<iterations>$<salt>$<hash>`: `secret` as a Mosquitto 2 password-file hash."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    rounds = iterations or MOSQUITTO_PBKDF2_ITERATIONS
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, rounds)
    encoded_salt = base64.b64encode(salt).decode()
    encoded_hash = base64.b64encode(digest).decode()
    return f"$7${rounds}${encoded_salt}${encoded_hash}"


@dataclass(frozen=True)
class PasswordFile:
    """The file's text, how many recorders it lists, and the serials it could not list."""

    text: str
    devices: int
    without_hash: tuple[str, ...]


async def mosquitto_password_file(
    session: AsyncSession, *, bridge: tuple[str, str] | None = None
) -> PasswordFile:
    """Lines for every active recorder with a live credential; `bridge` is (user, secret).

    A live credential issued before migration 0021 has no Mosquitto hash: its serial is
    returned in `without_hash` (re-enroll the recorder) and it gets no line.
    """
    rows = (
        await session.execute(
            select(Recorder.serial, DeviceCredential.mosquitto_hash)
            .join(DeviceCredential, DeviceCredential.recorder_id == Recorder.id)
            .where(
                Recorder.state == RecorderState.ACTIVE.value,
                DeviceCredential.revoked_at.is_(None),
            )
            .order_by(Recorder.serial)
        )
    ).all()
    lines = []
    if bridge is not None:
        lines.append(f"{bridge[0]}:{mosquitto_hash(bridge[1])}")
    lines += [f"{serial}:{hashed}" for serial, hashed in rows if hashed]
    missing = tuple(serial for serial, hashed in rows if not hashed)
    text = "\n".join(lines) + "\n" if lines else ""
    return PasswordFile(text=text, devices=len(rows) - len(missing), without_hash=missing)
