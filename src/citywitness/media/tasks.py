"""Media upkeep: sessions whose recorder went silent are ended and sealed.

`media:seal_idle_sessions` (every minute): live sessions without a segment for
`media.session_idle_seconds` are ended (`end_reason: timeout`) and sealed; sessions left
`sealing` by a crash are sealed again (each step is idempotent, see media/seal.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from procrastinate import JobContext

from citywitness.evidence.runtime import store_for
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.jobs import PLATFORM_RETRY, Queue, TaskBlueprint, resources
from citywitness.media import seal
from citywitness.media.models import SessionState
from citywitness.settings import Settings

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("media")

SEAL_CRON = "* * * * *"
BATCH = 50


@blueprint.periodic(cron=SEAL_CRON)
@blueprint.task(
    name="seal_idle_sessions",
    queue=Queue.MAINTENANCE,
    queueing_lock="media:seal_idle_sessions",
    pass_context=True,
    retry=PLATFORM_RETRY,
)
async def seal_idle_sessions(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    """End and seal the sessions of recorders that stopped sending segments."""
    found = resources(context)
    return await seal_idle(found.db, found.settings, batch=BATCH, tick=timestamp)


async def seal_idle(
    db: Database, settings: Settings, *, batch: int, tick: int | None = None
) -> dict[str, int]:
    """End and seal up to `batch` idle (or interrupted) sessions; how each one ended."""
    idle = timedelta(seconds=settings.media.session_idle_seconds)
    async with db.transaction() as session:
        ids = await seal.idle_sessions(session, before=utcnow() - idle, limit=batch)
    store = store_for(settings, db)
    outcomes: dict[str, int] = {"sealed": 0, "failed": 0}
    for session_id in ids:
        live = await seal.end_session(
            db, store, session_id, reason="timeout", ctx=seal.SealContext(actor_kind="system")
        )
        outcomes["sealed" if live.state == SessionState.SEALED else "failed"] += 1
    if ids:
        log.info("idle live sessions sealed", extra={"outcomes": outcomes, "tick": tick})
    return outcomes
