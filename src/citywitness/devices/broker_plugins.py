"""amqtt plugins of the embedded broker: per-device authentication and topic ACLs.

A recorder connects with its serial as user name and client id and its device secret as
password (`credentials.authenticate_device`, against the platform database).  It may
publish only to its own up topics, subscribe to and receive only its own command topic
(`topics.allowed_publish` / `allowed_subscribe`), and set a last will only on its own status
topic.  The bridge connects as the platform service account (`BRIDGE_USERNAME`, a secret
made at every start and never logged) and may do anything.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field
from typing import Any

from amqtt.contexts import Action, BaseContext
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from citywitness.devices.credentials import authenticate_device
from citywitness.devices.mqtt_revocation import RevocationWatch, live_credential_id
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.topics import allowed_publish, allowed_subscribe
from citywitness.kit.db import Database

log = logging.getLogger(__name__)

# A serial starts with a letter or digit, so no recorder can take this name.
BRIDGE_USERNAME = "_citywitness_bridge"


@dataclass
class BrokerAccess:
    """What the plugins share: the database, the bridge's secret, who is connected."""

    database: Database
    bridge_secret: str
    # client id (= serial) -> the identity it authenticated as, while its session lives
    devices: dict[str, DeviceIdentity] = field(default_factory=dict)
    bridge_client_ids: set[str] = field(default_factory=set)
    # told which credential each recorder connected with (drops it once revoked)
    watch: RevocationWatch | None = None

    def is_bridge(self, session: Session) -> bool:
        return session.username == BRIDGE_USERNAME and session.client_id in self.bridge_client_ids

    def device_of(self, session: Session) -> DeviceIdentity | None:
        identity = self.devices.get(session.client_id or "")
        if identity is None or identity.serial != session.username:
            return None
        return identity


class DeviceAuthPlugin(BaseAuthPlugin):  # type: ignore[misc] # amqtt ships no type hints
    """CONNECT: the bridge by its secret, a recorder by its credential (else CONNACK 5)."""

    @dataclass
    class Config:
        access: Any = None  # a BrokerAccess (Any: amqtt builds this with dacite)

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self.access: BrokerAccess = self.config.access

    async def authenticate(self, *, session: Session) -> bool:
        username = session.username or ""
        secret = session.password or ""
        client_id = session.client_id or ""
        if username == BRIDGE_USERNAME:
            ok = hmac.compare_digest(secret.encode(), self.access.bridge_secret.encode())
            if ok:
                self.access.bridge_client_ids.add(client_id)
            return ok
        if client_id != username:  # one session per recorder: no one can take over another's
            log.info("mqtt connect refused", extra={"reason": "client_id_is_not_serial"})
            return False
        async with self.access.database.transaction() as db_session:
            identity = await authenticate_device(db_session, username, secret)
            credential_id = (
                await live_credential_id(db_session, identity.device_id) if identity else None
            )
        if identity is None or credential_id is None:
            log.info("mqtt connect refused", extra={"reason": "bad_credentials"})
            return False
        if session.will_flag and not allowed_publish(identity, session.will_topic or ""):
            log.info("mqtt connect refused", extra={"reason": "will_topic_not_own"})
            return False
        self.access.devices[client_id] = identity
        if self.access.watch is not None:
            self.access.watch.connected(client_id, credential_id)
        return True


class DeviceTopicPlugin(BaseTopicPlugin):  # type: ignore[misc] # amqtt ships no type hints
    """PUBLISH, SUBSCRIBE and delivery checks (a refused publish is dropped, SUBACK 0x80)."""

    @dataclass
    class Config:
        access: Any = None  # a BrokerAccess

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self.access: BrokerAccess = self.config.access

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool:
        if session is None or topic is None:
            return False
        if self.access.is_bridge(session):
            return True
        identity = self.access.device_of(session)
        if identity is None:
            return False
        if action == Action.PUBLISH:
            allowed = allowed_publish(identity, topic)
        else:  # SUBSCRIBE (a filter) and RECEIVE (a topic): only its own command topic
            allowed = allowed_subscribe(identity, topic)
        if not allowed:
            log.info(
                "mqtt topic refused",
                extra={"device_id": str(identity.device_id), "action": str(action)},
            )
        return allowed
