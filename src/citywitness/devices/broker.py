"""The embedded MQTT broker (amqtt, MQTT 3.1.1) that `serve` runs when no external one is set.

It listens on `mqtt.listen_host:mqtt.listen_port` (1884 by default, so it never collides
with a Mosquitto on 1883) and checks every client through `broker_plugins`.  A taken port
is a clear start-up error (`MqttPortInUse`) naming the port and the setting to change.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import secrets
import socket
from typing import Any

from amqtt.broker import Broker
from amqtt.errors import BrokerError

from citywitness.devices.broker_plugins import (
    BRIDGE_USERNAME,
    BrokerAccess,
    DeviceAuthPlugin,
    DeviceTopicPlugin,
)
from citywitness.devices.mqtt_revocation import RevocationWatch
from citywitness.kit.db import Database

log = logging.getLogger(__name__)

_QUIET_LOGGERS = ("amqtt", "transitions")


class MqttStartupError(RuntimeError):
    """MQTT could not start; the message says what to change."""


class MqttPortInUse(MqttStartupError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"the embedded MQTT broker cannot listen on {host}:{port}: the port is already in "
            f"use; set mqtt.listen_port (CW_MQTT__LISTEN_PORT) to a free port, or point "
            f"mqtt.url (CW_MQTT__URL) at the broker that runs there"
        )
        self.host = host
        self.port = port


class _DrainingBroker(Broker):  # type: ignore[misc] # amqtt ships no type hints
    """amqtt 0.12.1 acknowledges a QoS 1 PUBLISH when it queues it, but a client that
    disconnects right after its PUBACKs would take its still-queued messages with it (its
    message loop ends on DISCONNECT).  Route what is queued before the session goes."""

    async def _handle_disconnect(self, client_session: Any, handler: Any, waiter: Any) -> None:
        queue = client_session.delivered_message_queue
        pending = []
        while not queue.empty():  # synchronously: the delivery task cannot take one meanwhile
            pending.append(queue.get_nowait())
        for message in pending:
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            done.set_result(message)
            await self._handle_message_delivery(client_session, handler, done)
        await super()._handle_disconnect(client_session, handler, waiter)


def _plugin_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _ensure_port_free(host: str, port: int) -> None:
    """Fail fast (before amqtt logs a stack trace) when something listens there already."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise MqttPortInUse(host, port) from exc
            raise MqttStartupError(
                f"the embedded MQTT broker cannot use {host}:{port}: {exc}"
            ) from exc


class EmbeddedBroker:
    """An amqtt broker with device authentication, started and stopped by `serve`.

    A recorder whose credential is revoked is disconnected within about
    `revocation_poll_seconds` (`mqtt_revocation.RevocationWatch`)."""

    def __init__(
        self,
        database: Database,
        *,
        host: str,
        port: int,
        revocation_poll_seconds: float = 2.0,
    ) -> None:
        self.host = host
        self.port = port
        self.bridge_username = BRIDGE_USERNAME
        self.bridge_secret = secrets.token_urlsafe(32)  # lives only in this process
        self.revocations = RevocationWatch(
            database, self._drop_session, interval=revocation_poll_seconds
        )
        self.access = BrokerAccess(
            database=database, bridge_secret=self.bridge_secret, watch=self.revocations
        )
        self._broker: _DrainingBroker | None = None

    def _config(self) -> dict[str, Any]:
        plugin_config = {"access": self.access}
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                _plugin_path(DeviceAuthPlugin): dict(plugin_config),
                _plugin_path(DeviceTopicPlugin): dict(plugin_config),
            },
        }

    @property
    def running(self) -> bool:
        return self._broker is not None and self._broker.transitions.state == "started"

    async def start(self) -> None:
        for name in _QUIET_LOGGERS:  # per-connection INFO lines (addresses, client ids)
            if logging.getLogger(name).getEffectiveLevel() < logging.WARNING:
                logging.getLogger(name).setLevel(logging.WARNING)
        _ensure_port_free(self.host, self.port)
        broker = _DrainingBroker(self._config())
        try:
            await broker.start()
        except BrokerError as exc:
            cause = exc.__cause__
            if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
                raise MqttPortInUse(self.host, self.port) from exc
            raise MqttStartupError(f"the embedded MQTT broker did not start: {exc}") from exc
        self._broker = broker
        self.revocations.start()
        log.info("mqtt broker listening", extra={"host": self.host, "port": self.port})

    async def _drop_session(self, client_id: str) -> bool:
        """Close a recorder's connection (its will is published); False if not connected."""
        self.access.devices.pop(client_id, None)  # nothing more in or out meanwhile
        broker = self._broker
        entry = broker.sessions.get(client_id) if broker is not None else None
        if entry is None or entry[0].transitions.state != "connected":
            return False
        await entry[1].handle_connection_closed()
        return True

    async def stop(self) -> None:
        await self.revocations.stop()
        broker, self._broker = self._broker, None
        if broker is not None and broker.transitions.state == "started":
            await broker.shutdown()
            log.info("mqtt broker stopped")
