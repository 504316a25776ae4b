"""Ledger jobs: a periodic sequencing run, the safety net behind the in-process loop
(`sequencer.run_forever`, started with every worker) that runs every second."""

from __future__ import annotations

from procrastinate import JobContext

from citywitness.kit.jobs import Queue, TaskBlueprint, resources
from citywitness.ledger.sequencer import sequence_all

blueprint = TaskBlueprint("ledger")


@blueprint.periodic(cron="* * * * *")
@blueprint.task(
    name="sequence",
    queue=Queue.MAINTENANCE,
    queueing_lock="ledger:sequence",
    pass_context=True,
    retry=False,  # the next tick is the retry
)
async def sequence(
    context: JobContext,
    timestamp: int,  # noqa: ARG001 - every periodic job receives its tick
) -> dict[str, int]:
    """Sequence what is waiting and sign a checkpoint (skips if another worker is at it)."""
    found = resources(context)
    return {"added": await sequence_all(found.db, found.settings)}
