"""Analysis runs through the API on a real database: start (job deferred in the same
transaction), list, get with progress, cancel; unknown analyzers, permissions and scope."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select, text

from citywitness.access.levels import Role
from citywitness.analysis import batch
from citywitness.analysis.models import AnalysisRun
from citywitness.audit.models import AuditEvent
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor

INVESTIGATOR = {PUBLIC_SECURITY: [Role.INVESTIGATOR]}  # analysis:read + analysis:run
OPERATOR = {PUBLIC_SECURITY: [Role.OPERATOR]}  # analysis:read only


def runs_path(item: EvidenceItem) -> str:
    return f"/api/v1/evidence/{item.id}/analysis/runs"


async def _count_runs(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(AnalysisRun)) or 0)


async def test_start_list_get_progress_and_cancel(
    db: Database,
    client: httpx.AsyncClient,
    store: ContentStore,
    item: EvidenceItem,
    ticks_settings: Settings,
) -> None:
    actor = await make_actor(db, roles=INVESTIGATOR)
    started = await client.post(
        runs_path(item), json={"analyzers": ["ticks", "ticks"]}, headers=actor.headers
    )
    assert started.status_code == 201, started.text
    body = started.json()
    run_id = body["id"]
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == {
        "evidence_id": str(item.id),
        "analyzers": ["ticks"],
        "trigger": "manual",
        "state": "queued",
        "progress_s": 0.0,
        "duration_s": None,
        "findings_count": 0,
        "error": None,
        "requested_by": str(actor.user.id),
        "started_at": None,
        "finished_at": None,
    }
    async with db.transaction() as session:
        jobs = (
            await session.execute(
                text(
                    "SELECT task_name, args->>'run_id', lock, queue_name FROM procrastinate_jobs"
                    " WHERE args->>'run_id' = :id"
                ),
                {"id": run_id},
            )
        ).all()
        audited = await session.scalar(
            select(AuditEvent.details).where(AuditEvent.action == "analysis.run_started")
        )
    assert [tuple(j) for j in jobs] == [
        ("analysis:analyse_run", run_id, f"analysis:run:{run_id}", "analysis")
    ]
    assert audited == {"run_id": run_id, "analyzers": ["ticks"]}

    await batch.execute(db, store, ticks_settings, uuid.UUID(run_id))
    got = await client.get(f"{runs_path(item)}/{run_id}", headers=actor.headers)
    assert got.status_code == 200
    assert (got.json()["state"], got.json()["progress_s"], got.json()["findings_count"]) == (
        "done",
        6.0,
        6,
    )
    finished = await client.post(f"{runs_path(item)}/{run_id}/cancel", headers=actor.headers)
    assert finished.status_code == 409
    assert finished.json()["error"] == "analysis.run_finished"

    second = (
        await client.post(runs_path(item), json={"analyzers": ["ticks"]}, headers=actor.headers)
    ).json()
    cancelled = await client.post(f"{runs_path(item)}/{second['id']}/cancel", headers=actor.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["finished_at"] is not None
    listed = await client.get(runs_path(item), headers=actor.headers)
    # newest first; here both were created in the test's one transaction (same created_at)
    assert sorted((r["id"], r["state"]) for r in listed.json()) == sorted(
        [(second["id"], "cancelled"), (run_id, "done")]
    )


async def test_refusals_change_nothing(
    db: Database, client: httpx.AsyncClient, item: EvidenceItem
) -> None:
    investigator = await make_actor(db, roles=INVESTIGATOR)
    unknown = await client.post(
        runs_path(item), json={"analyzers": ["ticks", "colours"]}, headers=investigator.headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"] == "analysis.unknown_analyzer"
    assert unknown.json()["fields"] == {"analyzers": ["colours"]}

    operator = await make_actor(db, roles=OPERATOR)
    denied = await client.post(
        runs_path(item), json={"analyzers": ["ticks"]}, headers=operator.headers
    )
    assert denied.status_code == 403
    assert (await client.get(runs_path(item), headers=operator.headers)).json() == []

    elsewhere = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    hidden = await client.post(
        runs_path(item), json={"analyzers": ["ticks"]}, headers=elsewhere.headers
    )
    assert hidden.status_code == 404
    assert (await client.get(runs_path(item), headers=elsewhere.headers)).status_code == 404
    missing = await client.get(f"{runs_path(item)}/{uuid.uuid4()}", headers=operator.headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "analysis.run_not_found"
    assert await _count_runs(db) == 0
