"""Analysis runs: started by hand (analysis:run), on upload (settings) or live; listed,
read, cancelled.  Starting a run defers its job in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted
from citywitness.analysis import contracts, pipeline, tasks
from citywitness.analysis.errors import NotAnalysable, RunFinished, RunNotFound, UnknownAnalyzer
from citywitness.analysis.models import AnalysisRun, RunState, RunTrigger
from citywitness.audit.service import Auditor
from citywitness.evidence.ingest import EVIDENCE
from citywitness.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from citywitness.evidence.service import is_granted, visible_item
from citywitness.kit.clock import utcnow

P = Permission
RUN = "analysis_run"
ANALYSABLE = frozenset({EvidenceKind.VIDEO, EvidenceKind.AUDIO, EvidenceKind.PHOTO})
UPLOAD_WINDOW = timedelta(days=1)


def check_kinds(kinds: Sequence[str]) -> list[str]:
    """The kinds, de-duplicated in order; 422 naming any that is not installed."""
    pipeline.load_analyzers()
    known = contracts.registered()
    unknown = [k for k in kinds if k not in known]
    if unknown or not kinds:
        raise UnknownAnalyzer(fields={"analyzers": unknown or "at least one is needed"})
    return list(dict.fromkeys(kinds))


async def create(
    session: AsyncSession,
    item: EvidenceItem,
    kinds: Sequence[str],
    *,
    trigger: RunTrigger,
    requested_by: uuid.UUID | None = None,
) -> AnalysisRun:
    """A queued run of `kinds` on `item`, its job deferred in the same transaction."""
    if item.kind not in ANALYSABLE or item.state == EvidenceState.DESTROYED:
        raise NotAnalysable(fields={"kind": str(item.kind), "state": str(item.state)})
    run = AnalysisRun(
        id=uuid.uuid4(),
        evidence_id=item.id,
        department_id=item.department_id,
        analyzers=check_kinds(kinds),
        trigger=trigger,
        state=RunState.QUEUED,
        progress_s=0.0,
        findings_count=0,
        requested_by=requested_by,
    )
    session.add(run)
    await session.flush()
    if trigger != RunTrigger.LIVE:
        await tasks.defer_run(session, run.id)
    return run


async def _item(
    session: AsyncSession, principal: Principal, evidence_id: uuid.UUID, permission: Permission
) -> EvidenceItem:
    item = await visible_item(session, principal, evidence_id, P.ANALYSIS_READ)
    if permission != P.ANALYSIS_READ:
        ensure_permitted(
            principal,
            permission,
            department_id=item.department_id,
            object_type=EVIDENCE,
            object_id=item.id,
            granted=await is_granted(session, principal, permission, item),
        )
    return item


async def start(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    kinds: Sequence[str],
) -> AnalysisRun:
    item = await _item(session, principal, evidence_id, P.ANALYSIS_RUN)
    run = await create(
        session, item, kinds, trigger=RunTrigger.MANUAL, requested_by=principal.user_id
    )
    await auditor.record(
        "analysis.run_started",
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=item.department_id,
        details={"run_id": str(run.id), "analyzers": run.analyzers},
    )
    return run


async def list_for(
    session: AsyncSession, principal: Principal, auditor: Auditor, evidence_id: uuid.UUID
) -> list[AnalysisRun]:
    item = await _item(session, principal, evidence_id, P.ANALYSIS_READ)
    await auditor.record(
        "analysis.runs_read",
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=item.department_id,
    )
    rows = await session.scalars(
        select(AnalysisRun)
        .where(AnalysisRun.evidence_id == item.id)
        .order_by(AnalysisRun.created_at.desc(), AnalysisRun.id)
    )
    return list(rows.all())


async def _run(
    session: AsyncSession,
    principal: Principal,
    evidence_id: uuid.UUID,
    run_id: uuid.UUID,
    permission: Permission,
) -> AnalysisRun:
    item = await _item(session, principal, evidence_id, permission)
    run = await session.get(AnalysisRun, run_id, with_for_update=permission != P.ANALYSIS_READ)
    if run is None or run.evidence_id != item.id:
        raise RunNotFound(fields={"run_id": str(run_id)})
    return run


async def get(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    run_id: uuid.UUID,
) -> AnalysisRun:
    run = await _run(session, principal, evidence_id, run_id, P.ANALYSIS_READ)
    await auditor.record(
        "analysis.run_read",
        object_type=EVIDENCE,
        object_id=evidence_id,
        department_id=run.department_id,
        details={"run_id": str(run.id)},
    )
    return run


async def cancel(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    run_id: uuid.UUID,
) -> AnalysisRun:
    """Stop a queued or running run (its job sees the state at its next chunk)."""
    run = await _run(session, principal, evidence_id, run_id, P.ANALYSIS_RUN)
    if RunState(run.state).finished:
        raise RunFinished(fields={"state": str(run.state)})
    run.state = RunState.CANCELLED
    run.finished_at = utcnow()
    await session.flush()
    await auditor.record(
        "analysis.run_cancelled",
        object_type=EVIDENCE,
        object_id=evidence_id,
        department_id=run.department_id,
        details={"run_id": str(run.id)},
    )
    return run


async def start_upload_runs(
    session: AsyncSession, kinds: Sequence[str], *, limit: int
) -> list[AnalysisRun]:
    """Runs of `kinds` for recent uploaded items that have no upload run yet."""
    if not kinds:
        return []
    has_run = (
        select(AnalysisRun.id)
        .where(
            AnalysisRun.evidence_id == EvidenceItem.id,
            AnalysisRun.trigger == RunTrigger.UPLOAD.value,
        )
        .exists()
    )
    items = await session.scalars(
        select(EvidenceItem)
        .where(
            EvidenceItem.created_at >= utcnow() - UPLOAD_WINDOW,
            EvidenceItem.state == EvidenceState.ACTIVE.value,
            EvidenceItem.kind.in_([k.value for k in ANALYSABLE]),
            EvidenceItem.ingest_channel != "derivative",
            ~has_run,
        )
        .order_by(EvidenceItem.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [await create(session, item, kinds, trigger=RunTrigger.UPLOAD) for item in items]
