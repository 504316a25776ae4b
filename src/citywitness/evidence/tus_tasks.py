"""Periodic expiry of tus uploads: unfinished uploads past Upload-Expires lose their bytes."""

from __future__ import annotations

import logging

from procrastinate import JobContext

from citywitness.audit.service import Auditor
from citywitness.evidence.runtime import store_for
from citywitness.evidence.tus import expire_stale_uploads
from citywitness.kit.jobs import PLATFORM_RETRY, Queue, TaskBlueprint, resources

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("evidence_uploads")

EXPIRE_CRON = "*/10 * * * *"


@blueprint.periodic(cron=EXPIRE_CRON)
@blueprint.task(
    name="expire_uploads",
    queue=Queue.MAINTENANCE,
    queueing_lock="evidence_uploads:expire_uploads",
    pass_context=True,
    retry=PLATFORM_RETRY,
)
async def expire_uploads(context: JobContext, timestamp: int | None = None) -> int:
    """Every ten minutes: mark stale open uploads expired and delete their partial bytes.

    Idempotent: an upload already expired is not selected again, and deleting a staging
    directory that is gone changes nothing.
    """
    found = resources(context)
    store = store_for(found.settings, found.db)
    async with found.db.transaction() as session:
        auditor = Auditor(session=session, actor=None, actor_kind="system")
        expired = await expire_stale_uploads(session, auditor, store)
    log.info("uploads expired", extra={"expired": len(expired), "tick": timestamp})
    return len(expired)
