"""HTTP adapter for redactions (rules in redaction_service.py, jobs in redaction_tasks.py;
docs/analysis/redaction.md)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from citywitness.analysis import redaction_service as service
from citywitness.analysis import redaction_suggest as suggest
from citywitness.analysis.redaction_schemas import (
    MuteSuggestionList,
    MuteSuggestionOut,
    MuteUpdate,
    RedactionCreate,
    RedactionList,
    RedactionOut,
    TrackCreate,
    TrackList,
    TrackOut,
    TrackUpdate,
)
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.evidence.runtime import ContentStoreDep
from citywitness.kit.web import error_responses
from citywitness.storage import ContentStore

router = APIRouter(tags=["redaction"])

MP4: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The redacted video (H.264 + audio, MP4).",
    },
    **error_responses(401, 403, 404, 409, 410),
}
EDIT = error_responses(401, 403, 404, 409, 422)


@router.post(
    "/evidence/{evidence_id}/redactions",
    status_code=202,
    summary="Start a redaction of a video item: faces and plates are detected by a job.",
    description=(
        "Needs redaction:review on the item (outside the caller's scope: 404).  The "
        "original is never changed.  The redaction starts in `detecting` (or `review` when "
        "neither faces nor plates are wanted); poll it until `review`."
    ),
    response_model=RedactionOut,
    responses=EDIT,
)
async def post_redaction(
    evidence_id: uuid.UUID,
    body: RedactionCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> RedactionOut:
    made = await service.create_redaction(session, principal, auditor, evidence_id, body)
    return RedactionOut.of(made)


@router.get(
    "/evidence/{evidence_id}/redactions",
    summary="List an item's redactions, newest first.",
    response_model=RedactionList,
    responses=error_responses(401, 403, 404),
)
async def get_redactions(
    evidence_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> RedactionList:
    found = await service.list_redactions(session, principal, auditor, evidence_id)
    return RedactionList(items=[RedactionOut.of(r) for r in found])


@router.get(
    "/redactions/{redaction_id}",
    summary="Read one redaction: its state, plan hash and derivative.",
    response_model=RedactionOut,
    responses=error_responses(401, 403, 404),
)
async def get_redaction(
    redaction_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> RedactionOut:
    return RedactionOut.of(await service.read_redaction(session, principal, auditor, redaction_id))


@router.get(
    "/redactions/{redaction_id}/tracks",
    summary="The tracks (what is covered, when), removed ones included.",
    response_model=TrackList,
    responses=error_responses(401, 403, 404),
)
async def get_tracks(
    redaction_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> TrackList:
    found = await service.list_tracks(session, principal, auditor, redaction_id)
    return TrackList(items=[TrackOut.of(t) for t in found])


@router.post(
    "/redactions/{redaction_id}/tracks",
    status_code=201,
    summary="Add a manual box (held or moving) over a time span.",
    description="Only in `review` (else 409 `redaction_not_editable`).",
    response_model=TrackOut,
    responses=EDIT,
)
async def post_track(
    redaction_id: uuid.UUID,
    body: TrackCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> TrackOut:
    track = await service.add_track(session, principal, auditor, redaction_id, body)
    return TrackOut.of(track)


@router.patch(
    "/redactions/{redaction_id}/tracks/{track_id}",
    summary="Adjust a track's span or boxes, or remove or restore it.",
    description="Only in `review` (else 409 `redaction_not_editable`).",
    response_model=TrackOut,
    responses=EDIT,
)
async def patch_track(  # noqa: PLR0917 - FastAPI dependencies
    redaction_id: uuid.UUID,
    track_id: uuid.UUID,
    body: TrackUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> TrackOut:
    track = await service.update_track(session, principal, auditor, redaction_id, track_id, body)
    return TrackOut.of(track)


@router.delete(
    "/redactions/{redaction_id}/tracks/{track_id}",
    status_code=204,
    summary="Remove a false detection (kept for the record, never drawn).",
    response_class=Response,
    responses=error_responses(401, 403, 404, 409),
)
async def delete_track(
    redaction_id: uuid.UUID,
    track_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> Response:
    await service.remove_track(session, principal, auditor, redaction_id, track_id)
    return Response(status_code=204)


@router.put(
    "/redactions/{redaction_id}/mute",
    summary="Set the audio ranges to silence (spoken personal data).",
    response_model=RedactionOut,
    responses=EDIT,
)
async def put_mute(
    redaction_id: uuid.UUID,
    body: MuteUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> RedactionOut:
    made = await service.set_mute(session, principal, auditor, redaction_id, body.ranges)
    return RedactionOut.of(made)


@router.get(
    "/redactions/{redaction_id}/mute-suggestions",
    summary="Suggested mute ranges: spoken numbers (4+ digits) in the item's transcript.",
    description=(
        "From the speech analyzer's findings (empty if it has not run).  Only proposals: "
        "apply them with PUT /redactions/{redaction_id}/mute."
    ),
    response_model=MuteSuggestionList,
    responses=error_responses(401, 403, 404),
)
async def get_mute_suggestions(
    redaction_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> MuteSuggestionList:
    found = await suggest.mute_suggestions(session, principal, auditor, redaction_id)
    items = [
        MuteSuggestionOut(
            start_s=s.start_s, end_s=s.end_s, finding_id=s.finding_id, digits=s.digits
        )
        for s in found
    ]
    return MuteSuggestionList(items=items)


@router.post(
    "/redactions/{redaction_id}/render",
    status_code=202,
    summary="Freeze the plan and render the redacted video (a background job).",
    response_model=RedactionOut,
    responses=error_responses(401, 403, 404, 409),
)
async def post_render(
    redaction_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> RedactionOut:
    made = await service.request_render(session, principal, auditor, redaction_id)
    return RedactionOut.of(made)


@router.post(
    "/redactions/{redaction_id}/publish",
    summary="Approve the rendered video for release (redaction:publish).",
    description="409 `redaction_not_rendered` unless the redaction is `rendered`.",
    response_model=RedactionOut,
    responses=error_responses(401, 403, 404, 409, 410),
)
async def post_publish(
    redaction_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> RedactionOut:
    return RedactionOut.of(await service.publish(session, principal, auditor, redaction_id))


async def _stream(store: ContentStore, sha256: str, size: int) -> AsyncIterator[bytes]:
    async for piece in store.read_range(sha256, 0, size):
        yield piece


@router.get(
    "/redactions/{redaction_id}/video",
    summary="Download the redacted video (audited).",
    response_class=StreamingResponse,
    responses=MP4,
)
async def get_video(
    redaction_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    store: ContentStoreDep,
) -> StreamingResponse:
    sha, size = await service.open_video(session, principal, auditor, redaction_id)
    headers = {
        "Content-Length": str(size),
        "ETag": f'"{sha}"',
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'attachment; filename="redaction-{redaction_id}.mp4"',
    }
    return StreamingResponse(_stream(store, sha, size), media_type="video/mp4", headers=headers)
