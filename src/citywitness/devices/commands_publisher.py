"""Who puts a command on a recorder's MQTT topic, in the process that runs the job.

`serve` holds the MQTT bridge and registers it (`publishing(bridge)`): jobs run by its
in-process worker publish through the bridge's connection.  A worker running apart has no
bridge; with an external broker (`mqtt.url`) it publishes through a short connection of
its own (`OneShotPublisher`, as the bridge's user, which the broker's ACL lets write
command topics).  With the embedded broker and no bridge in the process there is no
publisher: the job retries later, and recorders polling over HTTPS still get the command.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from citywitness.devices.mqtt_bridge import MqttUnavailable
from citywitness.devices.topics import command_topic
from citywitness.settings.sections import MqttSettings


class CommandPublisher(Protocol):
    """What can put a command on a recorder's topic (the MQTT bridge's `publish_command`)."""

    async def publish_command(
        self, department_code: str, serial: str, payload: bytes, *, wait_seconds: float = ...
    ) -> None: ...


_registered: list[CommandPublisher] = []


@contextmanager
def publishing(publisher: CommandPublisher) -> Iterator[None]:
    """Make `publisher` this process's command publisher while inside the block."""
    _registered.append(publisher)
    try:
        yield
    finally:
        _registered.remove(publisher)


def current_publisher(mqtt: MqttSettings) -> CommandPublisher | None:
    """The registered publisher, else a one-shot one for an external broker, else None."""
    if _registered:
        return _registered[-1]
    if mqtt.enabled and mqtt.url is not None:
        return OneShotPublisher.from_settings(mqtt)
    return None


@dataclass(frozen=True)
class OneShotPublisher:
    """Connect, publish at QoS 1, wait for the broker's PUBACK, disconnect."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    client_id_prefix: str = "citywitness-commands"

    @classmethod
    def from_settings(cls, mqtt: MqttSettings) -> OneShotPublisher:
        parts = urlsplit(mqtt.url or "")
        if parts.hostname is None or parts.port is None:
            raise MqttUnavailable("mqtt.url names no host and port")
        password = mqtt.password.get_secret_value() if mqtt.password is not None else None
        return cls(
            host=parts.hostname,
            port=parts.port,
            username=mqtt.username,
            password=password,
            tls=parts.scheme == "mqtts",
            client_id_prefix=f"{mqtt.bridge_client_id}-commands",
        )

    async def publish_command(
        self, department_code: str, serial: str, payload: bytes, *, wait_seconds: float = 10.0
    ) -> None:
        topic = command_topic(department_code, serial)
        await asyncio.to_thread(self._publish, topic, payload, wait_seconds)

    def _publish(self, topic: str, payload: bytes, wait_seconds: float) -> None:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{self.client_id_prefix}-{uuid.uuid4().hex[:12]}",
            protocol=paho.MQTTv311,
            clean_session=True,
            reconnect_on_failure=False,
        )
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set()
        try:
            client.connect(self.host, self.port, keepalive=30)
            client.loop_start()
            info = client.publish(topic, payload, qos=1)
            info.wait_for_publish(wait_seconds)
            if not info.is_published():
                raise MqttUnavailable("the MQTT broker did not take the command in time")
        except (OSError, RuntimeError, ValueError) as exc:
            raise MqttUnavailable(f"the command was not published: {type(exc).__name__}") from exc
        finally:
            client.disconnect()
            client.loop_stop()
