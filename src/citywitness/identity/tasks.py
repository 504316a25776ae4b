"""Identity sweeps: expired login state does not linger in the database."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from procrastinate import JobContext
from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.identity.models import ConsoleSession, OidcLoginState
from citywitness.kit.clock import utcnow
from citywitness.kit.jobs import PLATFORM_RETRY, Queue, TaskBlueprint, resources

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("identity")

PURGE_CRON = "*/15 * * * *"
SESSION_KEEP_DAYS = 30
"""Ended console sessions stay this long (who was logged in from where), then go."""


async def purge_expired(
    session: AsyncSession, *, now: datetime, keep_days: int = SESSION_KEEP_DAYS
) -> dict[str, int]:
    """Delete OIDC logins past their expiry and sessions ended more than `keep_days` ago."""
    states = await session.execute(
        delete(OidcLoginState)
        .where(OidcLoginState.expires_at < now)
        .returning(OidcLoginState.state)
    )
    cutoff = now - timedelta(days=keep_days)
    sessions = await session.execute(
        delete(ConsoleSession)
        .where(or_(ConsoleSession.expires_at < cutoff, ConsoleSession.revoked_at < cutoff))
        .returning(ConsoleSession.id)
    )
    return {"oidc_login_states": len(states.all()), "console_sessions": len(sessions.all())}


@blueprint.periodic(cron=PURGE_CRON)
@blueprint.task(
    name="purge_expired_logins",
    queue=Queue.MAINTENANCE,
    queueing_lock="identity:purge_expired_logins",
    pass_context=True,
    retry=PLATFORM_RETRY,
)
async def purge_expired_logins(
    context: JobContext, timestamp: int | None = None, keep_days: int = SESSION_KEEP_DAYS
) -> dict[str, int]:
    """Every quarter hour: expired OIDC logins and long-ended console sessions go.

    Deleting what has expired is idempotent: a second run finds nothing more to delete.
    """
    async with resources(context).db.transaction() as session:
        purged = await purge_expired(session, now=utcnow(), keep_days=keep_days)
    log.info("expired logins purged", extra={"purged": purged, "tick": timestamp})
    return purged
