"""Console API of live sessions: list, read, integrity reports, and the live HLS view."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import select

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import require, visible_filter
from citywitness.api.deps import (
    AuditorDep,
    CurrentPrincipal,
    DbSession,
    OptionalPrincipal,
    SettingsDep,
)
from citywitness.audit.service import Auditor
from citywitness.evidence.models import EvidenceItem
from citywitness.evidence.runtime import ContentStoreDep
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import NotAuthenticated
from citywitness.kit.web import error_responses
from citywitness.media import tokens, viewing
from citywitness.media.errors import ViewTokenInvalid
from citywitness.media.models import LiveSession, SessionReport
from citywitness.media.schemas import ReportList, ReportOut, SessionOut, SessionPage
from citywitness.settings import Settings

router = APIRouter(prefix="/media/sessions", tags=["media"])
P = Permission
SessionId = Annotated[uuid.UUID, PathParam(description="A live session's id.")]
ViewTokenQuery = Annotated[
    str | None,
    Query(alias="vt", max_length=200, description="View token from the playlist's URLs."),
]
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPES = {"m4s": "video/iso.segment", "ts": "video/mp2t", "mp4": "video/mp4"}


def policy(settings: Settings) -> viewing.ViewPolicy:
    path = settings.media.view_key_file
    if not path.is_absolute():
        path = Path(settings.data_dir) / path
    return viewing.ViewPolicy(
        key=tokens.load_key(path),
        token_ttl=timedelta(seconds=settings.media.view_token_ttl_seconds),
        view_idle=timedelta(seconds=settings.media.view_idle_seconds),
        window=settings.media.playlist_window_segments,
    )


@router.get(
    "",
    summary="Live sessions in scope, newest first (evidence:read in the recorder's department).",
    response_model=SessionPage,
    responses=error_responses(401, 403, 422),
)
async def list_sessions(
    *,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    state: Literal["live", "sealing", "sealed", "failed"] | None = None,
    recorder_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SessionPage:
    require(principal, P.EVIDENCE_READ, action="media.sessions_list")
    query = (
        select(LiveSession)
        .join(EvidenceItem, EvidenceItem.id == LiveSession.evidence_id)
        .where(
            visible_filter(
                principal,
                P.EVIDENCE_READ,
                department_column=LiveSession.department_id,
                classification_column=EvidenceItem.classification,
            )
        )
        .order_by(LiveSession.created_at.desc(), LiveSession.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(LiveSession.state == state)
    if recorder_id is not None:
        query = query.where(LiveSession.recorder_id == recorder_id)
    found = list(await session.scalars(query))
    await auditor.record("media.sessions_list", details={"count": len(found), "state": state})
    return SessionPage(items=[SessionOut.of(live) for live in found])


@router.get(
    "/{session_id}",
    summary="One session: state, counters, chain head (evidence:read).",
    response_model=SessionOut,
    responses=error_responses(401, 404),
)
async def get_session(
    session_id: SessionId, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> SessionOut:
    live = await viewing.visible_session(session, principal, session_id, P.EVIDENCE_READ)
    await _audit_read(auditor, "media.session_read", live)
    return SessionOut.of(live)


@router.get(
    "/{session_id}/reports",
    summary="Integrity reports of a session: gaps, late segments, forgeries, conflicts.",
    response_model=ReportList,
    responses=error_responses(401, 404),
)
async def get_reports(
    session_id: SessionId, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> ReportList:
    live = await viewing.visible_session(session, principal, session_id, P.EVIDENCE_READ)
    found = await session.scalars(
        select(SessionReport)
        .where(SessionReport.session_id == live.id)
        .order_by(SessionReport.created_at, SessionReport.id)
    )
    reports = [ReportOut.of(report) for report in found]
    await _audit_read(auditor, "media.reports_read", live)
    return ReportList(items=reports)


async def _audit_read(auditor: Auditor, action: str, live: LiveSession) -> None:
    await auditor.record(
        action,
        object_type="evidence",
        object_id=live.evidence_id,
        department_id=live.department_id,
        details={"session_id": str(live.id)},
    )


async def _viewable(
    *,
    session: DbSession,
    principal: Principal | None,
    auditor: Auditor,
    settings: Settings,
    session_id: uuid.UUID,
    vt: str | None,
) -> tuple[LiveSession, str]:
    """The session and the token for its URLs: from a valid `vt`, or from the caller."""
    found = policy(settings)
    now = utcnow()
    if vt is not None:
        try:
            tokens.check(found.key, vt, session_id=session_id, now=int(now.timestamp()))
        except ViewTokenInvalid:
            if principal is None:
                raise
        else:
            return await viewing.session_for_token(session, session_id), vt
    if principal is None:
        raise NotAuthenticated("log in, send an API token, or use the playlist's view token")
    live = await viewing.visible_session(session, principal, session_id, P.MEDIA_LIVE)
    token = await viewing.start_view(
        session, auditor=auditor, principal=principal, live=live, policy=found, now=now
    )
    return live, token


LIVE_ERRORS = error_responses(401, 404)
PLAYLIST_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {PLAYLIST_TYPE: {}}, "description": "The playlist."}
}


@router.get(
    "/{session_id}/live.m3u8",
    summary="Live HLS media playlist (media:live in the recorder's department).",
    description=(
        "EVENT playlist (or a sliding window), #EXT-X-MAP for fMP4, #EXT-X-GAP for segments "
        "not received, #EXT-X-ENDLIST once ended. Its URLs carry a short-lived view token "
        "(`vt`). A viewer is audited once per viewing session (media.live_view), not per "
        "request. With a valid `vt` and no credentials, the same token is reused."
    ),
    response_class=Response,
    responses={**PLAYLIST_RESPONSE, **LIVE_ERRORS},
)
async def get_playlist(
    *,
    session_id: SessionId,
    session: DbSession,
    principal: OptionalPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
    vt: ViewTokenQuery = None,
) -> Response:
    live, token = await _viewable(
        session=session,
        principal=principal,
        auditor=auditor,
        settings=settings,
        session_id=session_id,
        vt=vt,
    )
    text = await viewing.render_playlist(
        session, live, token, settings.media.playlist_window_segments
    )
    return Response(
        text,
        media_type=PLAYLIST_TYPE,
        headers={"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"},
    )


async def _serve(store: Any, sha256: str, media_type: str) -> Response:
    data = await store.read_all(sha256)
    return Response(
        data,
        media_type=media_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


MEDIA_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {t: {} for t in SEGMENT_TYPES.values()}, "description": "The bytes."},
    **LIVE_ERRORS,
}


@router.get(
    "/{session_id}/init.mp4",
    summary="The fMP4 init segment of a live session (view token or media:live).",
    response_class=Response,
    responses=MEDIA_RESPONSES,
)
async def get_init(
    *,
    session_id: SessionId,
    session: DbSession,
    principal: OptionalPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
    store: ContentStoreDep,
    vt: ViewTokenQuery = None,
) -> Response:
    live, _ = await _viewable(
        session=session,
        principal=principal,
        auditor=auditor,
        settings=settings,
        session_id=session_id,
        vt=vt,
    )
    sha = await viewing.segment_sha(session, live, "init.mp4")
    return await _serve(store, sha, SEGMENT_TYPES["mp4"])


@router.get(
    "/{session_id}/segments/{name}",
    summary="One live segment, decrypted from the store (`<seq>.m4s` or `<seq>.ts`).",
    response_class=Response,
    responses=MEDIA_RESPONSES,
)
async def get_segment(
    *,
    session_id: SessionId,
    name: Annotated[str, PathParam(max_length=20, pattern=r"^[0-9]{1,9}\.(m4s|ts)$")],
    session: DbSession,
    principal: OptionalPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
    store: ContentStoreDep,
    vt: ViewTokenQuery = None,
) -> Response:
    live, _ = await _viewable(
        session=session,
        principal=principal,
        auditor=auditor,
        settings=settings,
        session_id=session_id,
        vt=vt,
    )
    sha = await viewing.segment_sha(session, live, name)
    return await _serve(store, sha, SEGMENT_TYPES[name.rsplit(".", 1)[1]])
