"""Findings: stored with their provenance, listed for an item, reviewed, and summed up as
precision per analyzer.

Scope is the caller's business: these functions take an evidence id that the caller has
already checked the principal may see (or a job that acts for the platform).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted, require, visible_filter
from citywitness.analysis.contracts import Finding
from citywitness.analysis.errors import FindingNotFound
from citywitness.analysis.models import Review, StoredFinding
from citywitness.audit.service import Auditor
from citywitness.evidence import search_index
from citywitness.evidence.ingest import EVIDENCE
from citywitness.evidence.models import EvidenceItem, EvidenceState
from citywitness.evidence.service import is_granted, visible_item
from citywitness.kit.clock import utcnow

FACES = "faces"

TEXT_SEPARATOR = "\n"


def _row(
    finding: Finding,
    *,
    evidence_id: uuid.UUID,
    department_id: uuid.UUID,
    run_id: uuid.UUID | None,
    segment_sha256: str | None,
    snapshot_sha256: str | None = None,
) -> StoredFinding:
    return StoredFinding(
        run_id=run_id,
        evidence_id=evidence_id,
        department_id=department_id,
        segment_sha256=segment_sha256,
        analyzer=finding.analyzer,
        label=finding.label,
        offset_s=float(finding.offset_s),
        duration_s=finding.duration_s,
        box=None if finding.box is None else finding.box.as_dict(),
        confidence=float(finding.confidence),
        model_name=finding.model.name,
        model_version=finding.model.version,
        model_sha256=finding.model.sha256,
        attributes=dict(finding.attributes),
        vector=None if finding.vector is None else [float(v) for v in finding.vector],
        alert_kind=None if finding.alert is None else finding.alert.kind,
        snapshot_sha256=snapshot_sha256,
    )


async def store(
    session: AsyncSession,
    *,
    evidence_id: uuid.UUID,
    department_id: uuid.UUID,
    run_id: uuid.UUID | None,
    segment_sha256: str | None,
    findings: Sequence[Finding],
    snapshots: Mapping[int, str] | None = None,
) -> list[StoredFinding]:
    """Add `findings` (flushed, ids assigned); text findings refresh the item's search index.

    `snapshots` maps a position in `findings` to its snapshot's SHA-256 in the content store.
    """
    rows = [
        _row(
            f,
            evidence_id=evidence_id,
            department_id=department_id,
            run_id=run_id,
            segment_sha256=segment_sha256,
            snapshot_sha256=None if snapshots is None else snapshots.get(i),
        )
        for i, f in enumerate(findings)
    ]
    session.add_all(rows)
    await session.flush()
    if any(isinstance(f.attributes.get("text"), str) for f in findings):
        await reindex_text(session, evidence_id)
    return rows


async def reindex_text(session: AsyncSession, evidence_id: uuid.UUID) -> None:
    """Set the item's analysis text from every finding's `text`, in time order."""
    texts = (
        await session.scalars(
            select(StoredFinding.attributes["text"].astext)
            .where(
                StoredFinding.evidence_id == evidence_id,
                StoredFinding.attributes.has_key("text"),
                StoredFinding.review.is_distinct_from(Review.FALSE.value),
            )
            .order_by(StoredFinding.offset_s, StoredFinding.id)
        )
    ).all()
    await search_index.set_analysis_text(
        session, evidence_id, TEXT_SEPARATOR.join(t for t in texts if t)
    )


async def referenced_shas(session: AsyncSession, sha256s: Sequence[str]) -> set[str]:
    """Which of `sha256s` are snapshots of findings on items not destroyed (the analysis
    side of the storage sweep's `is_referenced`)."""
    if not sha256s:
        return set()
    found = await session.scalars(
        select(StoredFinding.snapshot_sha256)
        .join(EvidenceItem, EvidenceItem.id == StoredFinding.evidence_id)
        .where(
            StoredFinding.snapshot_sha256.in_(list(sha256s)),
            EvidenceItem.state != EvidenceState.DESTROYED.value,
        )
        .distinct()
    )
    return {sha for sha in found if sha is not None}


async def findings_for(
    session: AsyncSession,
    evidence_id: uuid.UUID,
    *,
    analyzer: str | None = None,
    label: str | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    limit: int | None = None,
) -> list[StoredFinding]:
    """An item's findings in time order (filtered); no scope check."""
    query = select(StoredFinding).where(StoredFinding.evidence_id == evidence_id)
    if analyzer is not None:
        query = query.where(StoredFinding.analyzer == analyzer)
    if label is not None:
        query = query.where(StoredFinding.label == label)
    if start_s is not None:
        query = query.where(StoredFinding.offset_s >= start_s)
    if end_s is not None:
        query = query.where(StoredFinding.offset_s < end_s)
    query = query.order_by(StoredFinding.offset_s, StoredFinding.id)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


async def get(session: AsyncSession, finding_id: int) -> StoredFinding | None:
    return await session.get(StoredFinding, finding_id)


async def set_review(
    session: AsyncSession, finding: StoredFinding, review: Review, *, actor: uuid.UUID | None
) -> bool:
    """Record a person's verdict on a finding; False when it already had that verdict."""
    if finding.review == review:
        return False
    finding.review = review
    finding.reviewed_by = actor
    finding.reviewed_at = utcnow()
    await session.flush()
    if isinstance(finding.attributes.get("text"), str):
        await reindex_text(session, finding.evidence_id)
    return True


async def review_from_alert(
    session: AsyncSession, finding_id: int, *, confirmed: bool, actor: uuid.UUID | None
) -> bool:
    """An operator's outcome on the alert a finding raised becomes the finding's review."""
    finding = await session.get(StoredFinding, finding_id, with_for_update=True)
    if finding is None:
        return False
    return await set_review(
        session, finding, Review.CONFIRMED if confirmed else Review.FALSE, actor=actor
    )


@dataclass(frozen=True)
class Precision:
    analyzer: str
    confirmed: int
    false: int

    @property
    def precision(self) -> float | None:
        reviewed = self.confirmed + self.false
        return None if reviewed == 0 else self.confirmed / reviewed


async def precision(
    session: AsyncSession, department_ids: Sequence[uuid.UUID] | None
) -> list[Precision]:
    """Confirmed and false reviews per analyzer (within departments; None: everywhere)."""
    confirmed = func.count(case((StoredFinding.review == Review.CONFIRMED.value, 1)))
    false = func.count(case((StoredFinding.review == Review.FALSE.value, 1)))
    query = (
        select(StoredFinding.analyzer, confirmed, false)
        .where(StoredFinding.review.is_not(None))
        .group_by(StoredFinding.analyzer)
        .order_by(StoredFinding.analyzer)
    )
    if department_ids is not None:
        query = query.where(StoredFinding.department_id.in_(list(department_ids)))
    rows = (await session.execute(query)).all()
    return [Precision(str(a), int(c), int(f)) for a, c, f in rows]


async def list_visible(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    *,
    analyzer: str | None,
    label: str | None,
    start_s: float | None,
    end_s: float | None,
    limit: int,
) -> tuple[list[StoredFinding], bool]:
    """An item's findings for a caller who may read its analysis (404 otherwise), audited.

    With them, whether the caller may see face watch-list candidates (faces:match in the
    item's department): without it the API leaves a face finding's candidate out.
    """
    item = await visible_item(session, principal, evidence_id, Permission.ANALYSIS_READ)
    await auditor.record(
        "analysis.findings_read",
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=item.department_id,
        details={"analyzer": analyzer, "label": label},
    )
    rows = await findings_for(
        session, item.id, analyzer=analyzer, label=label, start_s=start_s, end_s=end_s, limit=limit
    )
    return rows, principal.has_in(Permission.FACES_MATCH, item.department_id)


async def review(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    finding_id: int,
    *,
    verdict: Review,
) -> StoredFinding:
    """A person's verdict on a finding of an item they may run analysis on."""
    item = await visible_item(session, principal, evidence_id, Permission.ANALYSIS_READ)
    ensure_permitted(
        principal,
        Permission.ANALYSIS_RUN,
        department_id=item.department_id,
        object_type=EVIDENCE,
        object_id=item.id,
        granted=await is_granted(session, principal, Permission.ANALYSIS_RUN, item),
    )
    finding = await session.get(StoredFinding, finding_id, with_for_update=True)
    if finding is None or finding.evidence_id != item.id:
        raise FindingNotFound(fields={"finding_id": finding_id})
    if finding.analyzer == FACES:
        # A face candidate is confirmed or rejected only by people trained for it.
        ensure_permitted(
            principal,
            Permission.FACES_MATCH,
            department_id=item.department_id,
            object_type=EVIDENCE,
            object_id=item.id,
        )
    changed = await set_review(session, finding, verdict, actor=principal.user_id)
    await auditor.record(
        "analysis.finding_reviewed",
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=item.department_id,
        details={"finding_id": finding.id, "review": verdict.value, "changed": changed},
    )
    await session.refresh(finding)
    return finding


async def precision_visible(
    session: AsyncSession, principal: Principal, auditor: Auditor
) -> list[Precision]:
    """Precision per analyzer over the departments where the caller reads analysis."""
    require(principal, Permission.ANALYSIS_READ)
    departments = principal.departments_with(Permission.ANALYSIS_READ)
    await auditor.record("analysis.precision_read", object_type="analysis", object_id=None)
    return await precision(session, None if departments is None else sorted(departments))


MAX_WATCHLIST_HITS = 500


async def watchlist_hits(
    session: AsyncSession, principal: Principal, analyzer: str, entry_id: uuid.UUID
) -> list[StoredFinding]:
    """Findings of `analyzer` that matched a watch-list entry (``attributes.watchlist.entry_id``)
    on evidence the caller may analyse, newest first (at most 500)."""
    query = (
        select(StoredFinding)
        .join(EvidenceItem, EvidenceItem.id == StoredFinding.evidence_id)
        .where(
            StoredFinding.analyzer == analyzer,
            StoredFinding.attributes["watchlist"]["entry_id"].astext == str(entry_id),
            visible_filter(
                principal,
                Permission.ANALYSIS_READ,
                department_column=StoredFinding.department_id,
                classification_column=EvidenceItem.classification,
            ),
        )
        .order_by(StoredFinding.created_at.desc(), StoredFinding.id.desc())
        .limit(MAX_WATCHLIST_HITS)
    )
    return list((await session.execute(query)).scalars().all())
