"""The composed job app: tasks, periodic schedules, readiness, settings, command line."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from citywitness.cli import app as cli
from citywitness.kit.db import Database
from citywitness.kit.jobs import TaskBlueprint, readiness_check, task_name
from citywitness.settings import JobsSettings
from citywitness.worker import BLUEPRINTS, jobs_app, register


def test_platform_tasks_are_registered() -> None:
    assert {"jobs", "identity"} <= {b.namespace for b in BLUEPRINTS}
    assert jobs_app.tasks["jobs:recover_stalled_jobs"].queue == "maintenance"
    assert jobs_app.tasks["identity:purge_expired_logins"].queue == "maintenance"


def test_periodic_tasks_are_declared_with_their_schedule() -> None:
    schedules = {
        name: (periodic.cron, periodic.task.queue)
        for (name, _), periodic in jobs_app.periodic_registry.periodic_tasks.items()
    }
    assert schedules["jobs:recover_stalled_jobs"] == ("* * * * *", "maintenance")
    assert schedules["identity:purge_expired_logins"] == ("*/15 * * * *", "maintenance")


async def test_readiness_reports_the_queue_and_the_worker(db: Database) -> None:
    assert await readiness_check(db)() is None

    async def crashed() -> None:
        raise RuntimeError

    stopped = asyncio.create_task(crashed())
    await asyncio.wait([stopped])
    assert await readiness_check(db, stopped)() == "worker stopped"
    running = asyncio.create_task(asyncio.sleep(10))
    try:
        assert await readiness_check(db, running)() is None
    finally:
        running.cancel()
    assert stopped.exception() is not None


def test_heartbeat_must_fit_three_times_in_the_stall_timeout() -> None:
    with pytest.raises(ValueError, match="at most a third of stalled_after_seconds"):
        JobsSettings(stalled_after_seconds=20, heartbeat_seconds=7)
    assert JobsSettings(stalled_after_seconds=21, heartbeat_seconds=7).heartbeat_seconds == 7


def test_worker_command_refuses_an_unknown_queue() -> None:
    result = CliRunner().invoke(cli, ["worker", "--queue", "gpu-farm"])
    assert result.exit_code == 2
    assert "gpu-farm" in result.output


def test_a_task_is_named_by_its_namespace_before_registration() -> None:
    blueprint = TaskBlueprint("evidence")

    @blueprint.task(name="hash_upload")
    def hash_upload(upload_id: str) -> None: ...

    assert task_name(hash_upload) == "evidence:hash_upload"


def test_two_blueprints_cannot_share_a_namespace() -> None:
    with pytest.raises(ValueError, match="share the namespace 'identity'"):
        register(TaskBlueprint("identity"))
