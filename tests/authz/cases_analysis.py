"""Authorization cases for analysis runs, findings, reviews and precision (matrix.py).

The target is a SENSITIVE video of HOME.  Reading needs analysis:read where the item is
visible (without it the item does not exist: 404); starting, cancelling and reviewing need
analysis:run on top (a caller who sees the item without it: 403).
"""

from __future__ import annotations

from citywitness.access.permissions import Permission
from citywitness.analysis import contracts, findings, pipeline, runs
from citywitness.analysis.contracts import Finding, ModelRef
from citywitness.analysis.models import RunTrigger
from citywitness.kit.db import Database
from tests.authz.cases_evidence import _item
from tests.authz.matrix import Actor, Case, Prepared, department_case, object_case

P = Permission
RUNS = "/api/v1/evidence/{evidence_id}/analysis/runs"
FINDINGS = "/api/v1/evidence/{evidence_id}/analysis/findings"
MODEL = ModelRef("test-model", "1.0", "0" * 64)


def installed_kind() -> str:
    pipeline.load_analyzers()
    return sorted(contracts.registered())[0]


async def an_item(db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(path={"evidence_id": str((await _item(db)).id)})


async def a_run_request(db: Database, _caller: Actor | None) -> Prepared:
    item = await _item(db)
    return Prepared(path={"evidence_id": str(item.id)}, json={"analyzers": [installed_kind()]})


async def a_run(db: Database, _caller: Actor | None) -> Prepared:
    item = await _item(db)
    async with db.transaction() as session:
        run = await runs.create(session, item, [installed_kind()], trigger=RunTrigger.MANUAL)
    return Prepared(path={"evidence_id": str(item.id), "run_id": str(run.id)})


async def a_finding(db: Database, _caller: Actor | None) -> Prepared:
    item = await _item(db)
    async with db.transaction() as session:
        (row,) = await findings.store(
            session,
            evidence_id=item.id,
            department_id=item.department_id,
            run_id=None,
            segment_sha256=None,
            findings=[Finding("plates", "plate", 0.5, 0.9, MODEL)],
        )
    return Prepared(
        path={"evidence_id": str(item.id), "finding_id": str(row.id)},
        json={"review": "confirmed"},
    )


CASES: list[Case] = [
    object_case(
        "POST", RUNS, P.ANALYSIS_RUN, a_run_request, success=201, without=403, classified=True
    ),
    object_case("GET", RUNS, P.ANALYSIS_READ, an_item, without=404, classified=True),
    object_case("GET", RUNS + "/{run_id}", P.ANALYSIS_READ, a_run, without=404, classified=True),
    object_case(
        "POST", RUNS + "/{run_id}/cancel", P.ANALYSIS_RUN, a_run, without=403, classified=True
    ),
    object_case("GET", FINDINGS, P.ANALYSIS_READ, an_item, without=404, classified=True),
    object_case(
        "POST",
        FINDINGS + "/{finding_id}/review",
        P.ANALYSIS_RUN,
        a_finding,
        without=403,
        classified=True,
    ),
    department_case(
        "GET",
        "/api/v1/analysis/precision",
        P.ANALYSIS_READ,
        other=200,
        note="counts only the caller's departments (tests/analysis/test_findings.py)",
    ),
]
