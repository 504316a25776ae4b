"""MQTT inside `serve`: the embedded broker (unless `mqtt.url` names an external one) and
the bridge, started before the API and stopped after it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from citywitness.devices.broker import EmbeddedBroker, MqttStartupError
from citywitness.devices.mqtt_bridge import BrokerEndpoint, MqttBridge
from citywitness.devices.telemetry import TelemetryLimits
from citywitness.kit.db import Database
from citywitness.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["MqttRuntime", "MqttStartupError", "start_mqtt"]


@dataclass
class MqttRuntime:
    broker: EmbeddedBroker | None
    bridge: MqttBridge

    async def stop(self) -> None:
        """The bridge first (it finishes its batch), then the broker."""
        try:
            await self.bridge.stop()
        finally:
            if self.broker is not None:
                await self.broker.stop()

    async def readiness(self) -> str | None:
        if self.broker is not None and not self.broker.running:
            return "embedded mqtt broker not running"
        return await self.bridge.readiness()


def _local_address(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104 - compared, not bound


async def start_mqtt(settings: Settings, database: Database) -> MqttRuntime | None:
    """Start what `settings.mqtt` asks for; None when MQTT is off; MqttStartupError."""
    mqtt = settings.mqtt
    if not mqtt.enabled:
        return None
    broker: EmbeddedBroker | None = None
    if mqtt.url is None and mqtt.shared_group is not None:
        raise MqttStartupError(
            "mqtt.shared_group needs an external broker (mqtt.url): the embedded broker has "
            "no shared subscriptions"
        )
    if mqtt.url is None:
        broker = EmbeddedBroker(database, host=mqtt.listen_host, port=mqtt.listen_port)
        await broker.start()
        endpoint = BrokerEndpoint(
            host=_local_address(mqtt.listen_host),
            port=mqtt.listen_port,
            username=broker.bridge_username,
            password=broker.bridge_secret,
        )
    else:
        password = mqtt.password.get_secret_value() if mqtt.password is not None else None
        endpoint = BrokerEndpoint.from_url(mqtt.url, username=mqtt.username, password=password)
    bridge = MqttBridge(
        database,
        endpoint,
        client_id=mqtt.bridge_client_id,
        batch_size=mqtt.bridge_batch_size,
        concurrency=mqtt.bridge_concurrency,
        shared_group=mqtt.shared_group,
        keepalive=mqtt.keepalive_seconds,
        limits=TelemetryLimits.from_settings(settings.devices),
    )
    try:
        await bridge.start()
    except BaseException:
        if broker is not None:
            await broker.stop()
        raise
    return MqttRuntime(broker=broker, bridge=bridge)
