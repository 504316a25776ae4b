"""MQTT topics: parsing, and a device limited to its own topics."""

from __future__ import annotations

import uuid

import pytest

from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.topics import (
    allowed_publish,
    allowed_subscribe,
    command_topic,
    parse_topic,
    up_topic,
)

ME = DeviceIdentity(
    device_id=uuid.uuid4(),
    serial="BWC-1",
    department_code="public-security",
    department_id=uuid.uuid4(),
)


def test_parse_topic() -> None:
    assert parse_topic("cw/public-security/BWC-1/telemetry") == (
        "public-security",
        "BWC-1",
        "telemetry",
    )
    assert parse_topic("cw/public-security/BWC-1/event") == ("public-security", "BWC-1", "event")
    assert up_topic("public-security", "BWC-1", "status") == "cw/public-security/BWC-1/status"
    assert command_topic("public-security", "BWC-1") == "cw/public-security/BWC-1/command"
    for bad in [
        "cw/public-security/BWC-1/command",
        "cw/public-security/BWC-1",
        "cw/public-security/BWC-1/telemetry/x",
        "xx/public-security/BWC-1/telemetry",
        "cw/Public/BWC-1/telemetry",
        "cw/public-security/+/telemetry",
        "cw/public-security/#",
        "",
    ]:
        assert parse_topic(bad) is None, bad


@pytest.mark.parametrize(
    ("topic", "allowed"),
    [
        ("cw/public-security/BWC-1/telemetry", True),
        ("cw/public-security/BWC-1/event", True),
        ("cw/public-security/BWC-1/status", True),
        ("cw/public-security/BWC-1/command", False),
        ("cw/public-security/BWC-2/telemetry", False),
        ("cw/traffic-police/BWC-1/telemetry", False),
        ("cw/public-security/+/telemetry", False),
    ],
)
def test_publish_only_to_own_up_topics(topic: str, allowed: bool) -> None:
    assert allowed_publish(ME, topic) is allowed


def test_subscribe_only_to_own_command_topic() -> None:
    assert allowed_subscribe(ME, "cw/public-security/BWC-1/command")
    for other in [
        "cw/public-security/BWC-1/#",
        "cw/public-security/+/command",
        "cw/#",
        "cw/public-security/BWC-2/command",
        "cw/public-security/BWC-1/telemetry",
    ]:
        assert not allowed_subscribe(ME, other), other
