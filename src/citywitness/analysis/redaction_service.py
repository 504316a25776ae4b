"""Redactions of evidence items, as the API sees them: create, review, render, publish.

A redaction needs redaction:review on its evidence item (publishing needs
redaction:publish); an item, or a redaction of an item, outside the caller's scope is 404.
Every step is audited on the evidence item (``evidence.redaction.*``, with the redaction's
id).  The flow is a state machine (``RedactionState``): detecting -> review -> rendering ->
rendered -> published; tracks and mute ranges change only in review, a render freezes the
plan (its SHA-256 is kept and goes into the ledger with the derivative), and only a
rendered redaction is published or downloaded.  Publishing is custody: its ledger leaf
(``evidence.derivative_published``, the publisher as actor) names the original's, the
derivative's and the plan's SHA-256.  Wrong states are 409s.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import require
from citywitness.analysis import redaction_tasks as tasks
from citywitness.analysis.redaction import merge_ranges
from citywitness.analysis.redaction_models import Redaction, RedactionState, RedactionTrack
from citywitness.analysis.redaction_schemas import (
    KeyframeIn,
    MuteRange,
    RedactionCreate,
    TrackCreate,
    TrackUpdate,
)
from citywitness.audit.service import Auditor
from citywitness.evidence import custody
from citywitness.evidence.errors import EvidenceDestroyed, EvidenceNotActive
from citywitness.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from citywitness.evidence.service import visible_item
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import Conflict, NotFound, ValidationFailed
from citywitness.ledger.events import rfc3339

P = Permission
S = RedactionState
EVIDENCE = "evidence"


class EvidenceNotVideo(ValidationFailed):
    """Only video items can be redacted."""

    code = "evidence_not_video"


class RedactionNotEditable(Conflict):
    """Tracks and mute ranges change only while the redaction is in review."""

    code = "redaction_not_editable"


class RedactionNotRendered(Conflict):
    """The redacted video does not exist yet (or the render failed)."""

    code = "redaction_not_rendered"


class TrackNotFound(NotFound):
    """No such track in this redaction."""

    code = "track_not_found"


class InvalidTrack(ValidationFailed):
    """The track's span or keyframes do not fit together."""

    code = "invalid_track"


async def _audit(auditor: Auditor, action: str, redaction: Redaction, **details: Any) -> None:
    await auditor.record(
        f"evidence.redaction.{action}",
        object_type=EVIDENCE,
        object_id=redaction.evidence_id,
        department_id=redaction.department_id,
        details={"redaction_id": str(redaction.id), **details},
    )


def _ranges(ranges: list[MuteRange]) -> list[list[float]]:
    return [[a, b] for a, b in merge_ranges((r.start_s, r.end_s) for r in ranges)]


async def create_redaction(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    body: RedactionCreate,
) -> Redaction:
    """Record a redaction of a video item and queue its detection (review at once if
    neither faces nor plates are wanted)."""
    require(principal, P.REDACTION_REVIEW, action="evidence.redaction.create")
    item = await visible_item(session, principal, evidence_id, P.REDACTION_REVIEW)
    if item.state != EvidenceState.ACTIVE:
        raise EvidenceNotActive(fields={"state": item.state})
    if item.kind != EvidenceKind.VIDEO:
        raise EvidenceNotVideo(fields={"kind": item.kind})
    detect = body.faces or body.plates
    redaction = Redaction(
        id=uuid.uuid4(),
        evidence_id=item.id,
        department_id=item.department_id,
        state=S.DETECTING if detect else S.REVIEW,
        mode=body.mode,
        faces=body.faces,
        plates=body.plates,
        every=body.every,
        mute=_ranges(body.mute),
        original_sha256=item.sha256,
        requested_by=principal.user_id,
        detected_at=None if detect else utcnow(),
    )
    session.add(redaction)
    await session.flush()
    if detect:
        await tasks.defer_detect(session, redaction.id)
    await _audit(auditor, "create", redaction, faces=body.faces, plates=body.plates)
    await session.refresh(redaction)
    return redaction


def _not_visible(redaction_id: uuid.UUID, action: str) -> ObjectNotVisible:
    err = ObjectNotVisible("no such redaction")
    err.refusing(action, "redaction", str(redaction_id))
    return err


async def visible_redaction(
    session: AsyncSession,
    principal: Principal,
    redaction_id: uuid.UUID,
    permission: Permission = P.REDACTION_REVIEW,
    *,
    for_update: bool = False,
) -> Redaction:
    """The redaction if the caller has ``permission`` on its item; 404 otherwise (403 if
    the caller has the permission nowhere)."""
    require(principal, permission, action=f"evidence.redaction.{permission.value}")
    redaction = await session.get(Redaction, redaction_id, with_for_update=for_update)
    if redaction is None:
        raise _not_visible(redaction_id, permission.value)
    await visible_item(session, principal, redaction.evidence_id, permission)
    return redaction


async def read_redaction(
    session: AsyncSession, principal: Principal, auditor: Auditor, redaction_id: uuid.UUID
) -> Redaction:
    redaction = await visible_redaction(session, principal, redaction_id)
    await _audit(auditor, "read", redaction)
    return redaction


async def list_redactions(
    session: AsyncSession, principal: Principal, auditor: Auditor, evidence_id: uuid.UUID
) -> list[Redaction]:
    require(principal, P.REDACTION_REVIEW, action="evidence.redaction.list")
    item: EvidenceItem = await visible_item(session, principal, evidence_id, P.REDACTION_REVIEW)
    rows = await session.scalars(
        select(Redaction)
        .where(Redaction.evidence_id == item.id)
        .order_by(Redaction.created_at.desc(), Redaction.id)
    )
    await auditor.record(
        "evidence.redaction.list",
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=item.department_id,
    )
    return list(rows)


async def list_tracks(
    session: AsyncSession, principal: Principal, auditor: Auditor, redaction_id: uuid.UUID
) -> list[RedactionTrack]:
    redaction = await visible_redaction(session, principal, redaction_id)
    await _audit(auditor, "tracks", redaction)
    return await tasks.tracks_of(session, redaction.id, removed=True)


async def _editable(
    session: AsyncSession, principal: Principal, redaction_id: uuid.UUID
) -> Redaction:
    redaction = await visible_redaction(session, principal, redaction_id, for_update=True)
    if redaction.state != S.REVIEW:
        raise RedactionNotEditable(fields={"state": redaction.state})
    return redaction


def _keyframes(frames: list[KeyframeIn], start_s: float, end_s: float) -> list[dict[str, Any]]:
    ordered = sorted(frames, key=lambda k: k.t)
    if any(not start_s <= k.t <= end_s for k in ordered):
        raise InvalidTrack(fields={"keyframes": "every keyframe must lie in [start_s, end_s]"})
    return [{"t": k.t, "x": k.x, "y": k.y, "w": k.w, "h": k.h} for k in ordered]


async def add_track(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    redaction_id: uuid.UUID,
    body: TrackCreate,
) -> RedactionTrack:
    """A reviewer's box (or moving box) over a time span."""
    redaction = await _editable(session, principal, redaction_id)
    if body.box is not None:
        box = body.box.model_dump()
        frames = [{"t": body.start_s, **box}, {"t": body.end_s, **box}]
    else:
        frames = _keyframes(body.keyframes or [], body.start_s, body.end_s)
    track = RedactionTrack(
        id=uuid.uuid4(),
        redaction_id=redaction.id,
        label=body.label,
        source="manual",
        start_s=body.start_s,
        end_s=body.end_s,
        keyframes=frames,
        removed=False,
        changed_by=principal.user_id,
        changed_at=utcnow(),
    )
    session.add(track)
    await session.flush()
    await _audit(auditor, "track_add", redaction, track_id=str(track.id), label=body.label)
    await session.refresh(track)
    return track


async def _track(
    session: AsyncSession, redaction: Redaction, track_id: uuid.UUID
) -> RedactionTrack:
    track = await session.get(RedactionTrack, track_id, with_for_update=True)
    if track is None or track.redaction_id != redaction.id:
        raise TrackNotFound(fields={"track_id": str(track_id)})
    return track


async def update_track(  # noqa: PLR0917 - the request's parts, as the other operations
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    redaction_id: uuid.UUID,
    track_id: uuid.UUID,
    body: TrackUpdate,
) -> RedactionTrack:
    """Adjust a track's span or boxes, or remove (or restore) it."""
    redaction = await _editable(session, principal, redaction_id)
    track = await _track(session, redaction, track_id)
    start = body.start_s if body.start_s is not None else track.start_s
    end = body.end_s if body.end_s is not None else track.end_s
    if end <= start:
        raise InvalidTrack(fields={"end_s": "must be after start_s"})
    if body.keyframes is not None:
        track.keyframes = _keyframes(body.keyframes, start, end)
    track.start_s, track.end_s = start, end
    if body.removed is not None:
        track.removed = body.removed
    track.changed_by, track.changed_at = principal.user_id, utcnow()
    await session.flush()
    changed = sorted(body.model_dump(exclude_unset=True))
    await _audit(auditor, "track_update", redaction, track_id=str(track.id), changed=changed)
    return track


async def remove_track(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    redaction_id: uuid.UUID,
    track_id: uuid.UUID,
) -> None:
    """Mark a track as a false detection: kept for the record, never drawn."""
    redaction = await _editable(session, principal, redaction_id)
    track = await _track(session, redaction, track_id)
    track.removed = True
    track.changed_by, track.changed_at = principal.user_id, utcnow()
    await session.flush()
    await _audit(auditor, "track_remove", redaction, track_id=str(track.id))


async def set_mute(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    redaction_id: uuid.UUID,
    ranges: list[MuteRange],
) -> Redaction:
    """Replace the audio ranges to silence (spoken names, addresses...)."""
    redaction = await _editable(session, principal, redaction_id)
    redaction.mute = _ranges(ranges)
    await session.flush()
    await _audit(auditor, "mute", redaction, ranges=len(redaction.mute))
    return redaction


async def request_render(
    session: AsyncSession, principal: Principal, auditor: Auditor, redaction_id: uuid.UUID
) -> Redaction:
    """Freeze the plan (its hash is kept) and queue the render job."""
    redaction = await _editable(session, principal, redaction_id)
    plan = tasks.plan_of(redaction, await tasks.tracks_of(session, redaction.id))
    redaction.plan_sha256 = plan.digest()
    redaction.state = S.RENDERING
    await session.flush()
    await tasks.defer_render(session, redaction.id)
    await _audit(auditor, "render", redaction, plan_sha256=redaction.plan_sha256)
    return redaction


async def _ensure_not_destroyed(session: AsyncSession, redaction: Redaction) -> None:
    """The derivative was shredded with its item: 410 ``evidence_destroyed``."""
    item = await session.get(EvidenceItem, redaction.evidence_id)
    if item is None or item.state == EvidenceState.DESTROYED:
        raise EvidenceDestroyed(fields={"evidence_id": str(redaction.evidence_id)})


async def publish(
    session: AsyncSession, principal: Principal, auditor: Auditor, redaction_id: uuid.UUID
) -> Redaction:
    """Approve the rendered derivative for release (redaction:publish); custody: the ledger
    leaf links the original, the derivative and the plan, with the publisher as actor."""
    redaction = await visible_redaction(
        session, principal, redaction_id, P.REDACTION_PUBLISH, for_update=True
    )
    if redaction.state != S.RENDERED:
        raise RedactionNotRendered(fields={"state": redaction.state})
    await _ensure_not_destroyed(session, redaction)
    now = utcnow()
    redaction.state = S.PUBLISHED
    redaction.published_by, redaction.published_at = principal.user_id, now
    await session.flush()
    await custody.record(
        auditor,
        "evidence.redaction.publish",
        object_id=redaction.evidence_id,
        department_id=redaction.department_id,
        details={
            "redaction_id": str(redaction.id),
            "kind": tasks.DERIVATIVE_KIND,
            "sha256": redaction.derivative_sha256,
            "size_bytes": redaction.derivative_size,
            "original_sha256": redaction.original_sha256,
            "plan_sha256": redaction.plan_sha256,
            "published_at": rfc3339(now),
        },
    )
    return redaction


async def open_video(
    session: AsyncSession, principal: Principal, auditor: Auditor, redaction_id: uuid.UUID
) -> tuple[str, int]:
    """(sha256, size) of the redacted video, for a download; audited."""
    redaction = await visible_redaction(session, principal, redaction_id)
    sha, size = redaction.derivative_sha256, redaction.derivative_size
    if redaction.state not in (S.RENDERED, S.PUBLISHED) or sha is None or size is None:
        raise RedactionNotRendered(fields={"state": redaction.state})
    await _ensure_not_destroyed(session, redaction)
    await _audit(auditor, "download", redaction, derivative_sha256=sha, bytes=size)
    return sha, size
