"""Per-device access rules for an external Mosquitto, generated from the registry.

`mosquitto_acl` writes a Mosquitto `acl_file`: the bridge reads every recorder's up topics
and writes command topics; each active recorder with a live credential writes only its own
three up topics and reads only its own command topic (the same rules the embedded broker
enforces through `topics.allowed_publish` / `allowed_subscribe`).

Passwords: the platform keeps only a SHA-256 of each device secret, which Mosquitto cannot
check.  `mosquitto_password_line` makes a Mosquitto 2 password-file line (`$7$`,
PBKDF2-SHA512) from a secret at the one moment it is known (when it is issued).
"""

from __future__ import annotations

import base64
import hashlib
import os

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.agencies.models import Department
from citywitness.devices.models import DeviceCredential, Recorder, RecorderState
from citywitness.devices.mqtt_bridge import UP_SUBSCRIPTIONS
from citywitness.devices.topics import COMMAND, MESSAGE_KINDS, ROOT, command_topic, up_topic

MOSQUITTO_PBKDF2_ITERATIONS = 101  # what mosquitto_passwd 2.0 writes
_SALT_BYTES = 12


def _bridge_block(bridge_username: str) -> list[str]:
    lines = [f"user {bridge_username}"]
    lines += [f"topic read {topic}" for topic in UP_SUBSCRIPTIONS]
    lines.append(f"topic write {ROOT}/+/+/{COMMAND}")
    return lines


def _device_block(department_code: str, serial: str) -> list[str]:
    lines = [f"user {serial}"]
    lines += [f"topic write {up_topic(department_code, serial, kind)}" for kind in MESSAGE_KINDS]
    lines.append(f"topic read {command_topic(department_code, serial)}")
    return lines


async def mosquitto_acl(session: AsyncSession, *, bridge_username: str) -> str:
    """The acl_file text for every active recorder with a live credential."""
    rows = (
        await session.execute(
            select(Department.code, Recorder.serial)
            .join(Department, Department.id == Recorder.department_id)
            .join(DeviceCredential, DeviceCredential.recorder_id == Recorder.id)
            .where(
                Recorder.state == RecorderState.ACTIVE.value,
                DeviceCredential.revoked_at.is_(None),
            )
            .order_by(Department.code, Recorder.serial)
        )
    ).all()
    blocks = [
        [
            "# CityWitness MQTT access rules for Mosquitto (acl_file), generated from the",
            "# recorder registry by `citywitness devices mqtt-acl`; regenerate and reload",
            "# Mosquitto (SIGHUP) after recorders are added, retired or re-enrolled.",
            "# Anonymous clients get no rules: nothing is allowed for them.",
        ],
        _bridge_block(bridge_username),
    ]
    blocks += [_device_block(code, serial) for code, serial in rows]
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def mosquitto_password_line(
    username: str, secret: str, *, salt: bytes | None = None, iterations: int = 0
) -> str:
    """`username:$7$<iterations>$<salt>$<hash>`, a Mosquitto 2 password-file line."""
    salt = salt if salt is not None else os.urandom(_SALT_BYTES)
    rounds = iterations or MOSQUITTO_PBKDF2_ITERATIONS
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, rounds)
    encoded_salt = base64.b64encode(salt).decode()
    encoded_hash = base64.b64encode(digest).decode()
    return f"{username}:$7${rounds}${encoded_salt}${encoded_hash}"
