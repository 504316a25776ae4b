"""Per-device access rules for an external Mosquitto, generated from the registry.

`mosquitto_acl` writes a Mosquitto `acl_file`: the bridge reads every recorder's up topics
and writes command topics; each active recorder with a live credential writes only its own
three up topics and reads only its own command topic (the same rules the embedded broker
enforces through `topics.allowed_publish` / `allowed_subscribe`).

Passwords: see `mqtt_passwd` (a `$7$` hash stored with each issued credential, and the
password file).  `mosquitto_password_line` makes one line from a known secret.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.agencies.models import Department
from citywitness.devices.models import DeviceCredential, Recorder, RecorderState
from citywitness.devices.mqtt_bridge import UP_SUBSCRIPTIONS
from citywitness.devices.mqtt_passwd import MOSQUITTO_PBKDF2_ITERATIONS, mosquitto_hash
from citywitness.devices.topics import COMMAND, MESSAGE_KINDS, ROOT, command_topic, up_topic

__all__ = ["MOSQUITTO_PBKDF2_ITERATIONS", "mosquitto_acl", "mosquitto_password_line"]


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
    return f"{username}:{mosquitto_hash(secret, salt=salt, iterations=iterations)}"
