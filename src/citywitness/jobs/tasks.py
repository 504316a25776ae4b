"""Platform tasks: the job queue looks after itself."""

from __future__ import annotations

from procrastinate import JobContext

from citywitness.jobs.recovery import recover_stalled_jobs as recover
from citywitness.kit.jobs import Queue, TaskBlueprint, resources

blueprint = TaskBlueprint("jobs")

RECOVERY_CRON = "* * * * *"


@blueprint.periodic(cron=RECOVERY_CRON)
@blueprint.task(
    name="recover_stalled_jobs",
    queue=Queue.MAINTENANCE,
    queueing_lock="jobs:recover_stalled_jobs",
    pass_context=True,
    retry=False,  # the next tick, a minute later, is the retry
)
async def recover_stalled_jobs(
    context: JobContext,
    timestamp: int,  # noqa: ARG001 - every periodic job receives its tick
) -> dict[str, int]:
    """Put the jobs of dead workers back in their queues (also run at worker start-up)."""
    found = resources(context)
    result = await recover(context.app.job_manager, found.db, found.settings.jobs)
    return {"retried": len(result.retried), "failed": len(result.failed)}
