"""HTTP adapter for analysis runs, findings, reviews and precision (rules in runs.py and
findings.py).  Items outside the caller's scope are 404; every call is audited."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from citywitness.analysis import findings, runs
from citywitness.analysis.models import Review
from citywitness.analysis.schemas import FindingOut, PrecisionOut, ReviewIn, RunOut, RunStart
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.kit.web import error_responses

router = APIRouter(tags=["analysis"])

READ = "Needs analysis:read where the item is visible (404 otherwise). Audited."
RUN = "Needs analysis:run on an item visible with analysis:read (404 otherwise). Audited."


@router.post(
    "/evidence/{evidence_id}/analysis/runs",
    status_code=status.HTTP_201_CREATED,
    summary="Start an analysis run on an evidence item",
    description=RUN + " 422 for an analyzer that is not installed; 409 for a document.",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def start_run(
    evidence_id: uuid.UUID,
    body: RunStart,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> RunOut:
    return RunOut.of(await runs.start(session, principal, auditor, evidence_id, body.analyzers))


@router.get(
    "/evidence/{evidence_id}/analysis/runs",
    summary="An evidence item's analysis runs, newest first",
    description=READ,
    responses=error_responses(401, 403, 404, 422),
)
async def list_runs(
    evidence_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> list[RunOut]:
    return [RunOut.of(r) for r in await runs.list_for(session, principal, auditor, evidence_id)]


@router.get(
    "/evidence/{evidence_id}/analysis/runs/{run_id}",
    summary="One analysis run (state and progress)",
    description=READ,
    responses=error_responses(401, 403, 404, 422),
)
async def get_run(
    evidence_id: uuid.UUID,
    run_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> RunOut:
    return RunOut.of(await runs.get(session, principal, auditor, evidence_id, run_id))


@router.post(
    "/evidence/{evidence_id}/analysis/runs/{run_id}/cancel",
    summary="Cancel a queued or running analysis run",
    description=RUN + " 409 when the run has already finished.",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def cancel_run(
    evidence_id: uuid.UUID,
    run_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> RunOut:
    return RunOut.of(await runs.cancel(session, principal, auditor, evidence_id, run_id))


@router.get(
    "/evidence/{evidence_id}/analysis/findings",
    summary="An evidence item's findings in time order (never an embedding)",
    description=READ,
    responses=error_responses(401, 403, 404, 422),
)
async def list_findings(  # noqa: PLR0917 - query filters
    evidence_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    analyzer: Annotated[str | None, Query(max_length=40)] = None,
    label: Annotated[str | None, Query(max_length=80)] = None,
    start_s: Annotated[float | None, Query(ge=0)] = None,
    end_s: Annotated[float | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[FindingOut]:
    rows, face_candidates = await findings.list_visible(
        session,
        principal,
        auditor,
        evidence_id,
        analyzer=analyzer,
        label=label,
        start_s=start_s,
        end_s=end_s,
        limit=limit,
    )
    return [FindingOut.of(r, face_candidates=face_candidates) for r in rows]


@router.post(
    "/evidence/{evidence_id}/analysis/findings/{finding_id}/review",
    summary="Mark a finding confirmed or false (feeds precision)",
    description=RUN,
    responses=error_responses(401, 403, 404, 422),
)
async def review_finding(  # noqa: PLR0917 - path, body, dependencies
    evidence_id: uuid.UUID,
    finding_id: int,
    body: ReviewIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> FindingOut:
    row = await findings.review(
        session, principal, auditor, evidence_id, finding_id, verdict=Review(body.review)
    )
    return FindingOut.of(row)


@router.get(
    "/analysis/precision",
    summary="Precision per analyzer: confirmed / (confirmed + false) reviews",
    description="Needs analysis:read; counts the findings of the caller's departments.",
    responses=error_responses(401, 403),
)
async def get_precision(
    session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> list[PrecisionOut]:
    return [
        PrecisionOut.of(p) for p in await findings.precision_visible(session, principal, auditor)
    ]
