"""MQTT topics (pure): `cw/<department_code>/<serial>/{telemetry,event,status}` up and
`cw/<department_code>/<serial>/command` down.

A department code is a lower-case slug (`[a-z0-9][a-z0-9-]*`) and a serial is
`[A-Za-z0-9][A-Za-z0-9._-]*`, so neither can hold `/`, `+` or `#`.  A device may publish
only to its own three up topics and subscribe only to its own command topic (no wildcards).
"""

from __future__ import annotations

import re

from citywitness.devices.messages import MESSAGE_KINDS, MessageKind
from citywitness.devices.principal import DeviceIdentity

__all__ = [
    "COMMAND",
    "MESSAGE_KINDS",
    "ROOT",
    "MessageKind",
    "allowed_publish",
    "allowed_subscribe",
    "command_topic",
    "parse_topic",
    "up_topic",
]

ROOT = "cw"
COMMAND = "command"
DEPARTMENT_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
SERIAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def up_topic(department_code: str, serial: str, kind: MessageKind) -> str:
    return f"{ROOT}/{department_code}/{serial}/{kind}"


def command_topic(department_code: str, serial: str) -> str:
    return f"{ROOT}/{department_code}/{serial}/{COMMAND}"


def parse_topic(topic: str) -> tuple[str, str, MessageKind] | None:
    """(department_code, serial, kind) of an up topic; None for anything else."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != ROOT:
        return None
    _, department_code, serial, kind = parts
    if not DEPARTMENT_CODE_RE.match(department_code) or not SERIAL_RE.match(serial):
        return None
    for known in MESSAGE_KINDS:
        if kind == known:
            return department_code, serial, known
    return None


def allowed_publish(identity: DeviceIdentity, topic: str) -> bool:
    """A device publishes only to its own telemetry, event and status topics."""
    parsed = parse_topic(topic)
    if parsed is None:
        return False
    department_code, serial, _ = parsed
    return department_code == identity.department_code and serial == identity.serial


def allowed_subscribe(identity: DeviceIdentity, topic_filter: str) -> bool:
    """A device subscribes only to its own command topic, spelled out (no wildcards)."""
    return topic_filter == command_topic(identity.department_code, identity.serial)
