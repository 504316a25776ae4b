"""Revocation reaches connected recorders: the embedded broker drops a revoked session.

A recorder's credential is checked at CONNECT; without this, a recorder whose credential
is revoked (POST .../revoke, re-enrollment, retirement) would keep its MQTT session until
it reconnected.  `RevocationWatch` polls `device_credentials` every `interval` seconds for
credentials revoked since its last look (with a margin, since `revoked_at` is set before
its transaction commits) and disconnects every connected session that authenticated
with one of them; its next CONNECT is refused by the credential check.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.devices.models import DeviceCredential
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database

log = logging.getLogger(__name__)

# A revocation is visible once its transaction commits, which may be a while after
# `revoked_at` was taken: look back this far each time (repeats are harmless).
COMMIT_MARGIN = timedelta(seconds=60)

Disconnect = Callable[[str], Awaitable[bool]]


async def live_credential_id(session: AsyncSession, recorder_id: uuid.UUID) -> uuid.UUID | None:
    """The id of the recorder's live credential (the one it just authenticated with)."""
    found = await session.scalar(
        select(DeviceCredential.id).where(
            DeviceCredential.recorder_id == recorder_id, DeviceCredential.revoked_at.is_(None)
        )
    )
    return found if isinstance(found, uuid.UUID) else None


class RevocationWatch:
    """Maps client ids to the credential they connected with; drops revoked ones."""

    def __init__(
        self,
        database: Database,
        disconnect: Disconnect,
        *,
        interval: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.interval = interval
        self.disconnected = 0
        self._disconnect = disconnect
        self._clock = clock
        self._sessions: dict[str, uuid.UUID] = {}  # client id -> credential id
        self._since = clock() - COMMIT_MARGIN
        self._task: asyncio.Task[None] | None = None

    def connected(self, client_id: str, credential_id: uuid.UUID) -> None:
        self._sessions[client_id] = credential_id

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mqtt-revocation-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - keep watching; the next look retries
                log.warning("mqtt revocation check failed", extra={"error": type(exc).__name__})

    async def check(self) -> int:
        """Disconnect sessions whose credential was revoked; how many were dropped."""
        looked_at = self._clock()
        async with self.database.transaction() as session:
            revoked = set(
                (
                    await session.execute(
                        select(DeviceCredential.id).where(
                            DeviceCredential.revoked_at >= self._since
                        )
                    )
                ).scalars()
            )
        self._since = looked_at - COMMIT_MARGIN
        dropped = 0
        for client_id, credential_id in list(self._sessions.items()):
            if credential_id not in revoked:
                continue
            del self._sessions[client_id]
            if await self._disconnect(client_id):
                dropped += 1
                log.info("mqtt session of a revoked credential closed")
        self.disconnected += dropped
        return dropped
