"""HTTP adapter for playback and download of originals and derivatives (thumbnail, proxy):
Range, HEAD and If-Range, decrypting on the fly; the rules live in playback.py."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response, StreamingResponse

from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.evidence import playback
from citywitness.evidence.derivative_models import DerivativeKind
from citywitness.evidence.runtime import ContentStoreDep
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/evidence", tags=["evidence"])

Reason = Annotated[
    str | None,
    Query(
        max_length=500,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Why the caller plays or downloads (required where the department says so).",
    ),
]
RangeHeader = Annotated[str | None, Header(alias="Range", max_length=200)]
IfRange = Annotated[
    str | None,
    Header(
        alias="If-Range",
        max_length=200,
        description="Honour Range only if the content's ETag is this one (else 200, whole).",
    ),
]
BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
PROXY_TYPES: dict[str, Any] = {"video/mp4": {}, "audio/mp4": {}}


def _streaming(store: Any, content: playback.Content) -> StreamingResponse:
    headers = dict(content.headers)
    headers["Content-Length"] = str(content.length)
    media_type = headers.pop("Content-Type")
    return StreamingResponse(
        playback.stream(store, content),
        status_code=content.status,
        headers=headers,
        media_type=media_type,
    )


def _head(content: playback.Content) -> Response:
    headers = dict(content.headers)
    headers["Content-Length"] = str(content.length)
    return Response(status_code=content.status, headers=headers)


HEAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The headers of the whole content (no body)."},
    206: {"description": "The headers of the requested byte range (no body)."},
}
CONTENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": BINARY, "description": "The whole content (no Range header)."},
    206: {"content": BINARY, "description": "The requested byte range (Content-Range)."},
    **error_responses(400, 401, 403, 404, 409, 410, 416, 422),
}


@router.get(
    "/{evidence_id}/content",
    summary="Play (inline) or download (attachment) the original, with HTTP byte ranges.",
    description=(
        "`disposition=inline` needs evidence:play, `attachment` evidence:download, in the "
        "item's department (or a grant).  Send `reason` where the department requires one "
        "(422 `reason_required`).  One `Range: bytes=` range per request (206, or 416 "
        "outside the content); an open-ended range returns at most "
        "evidence.playback_max_range_bytes.  Bytes are decrypted as they are sent.  Every "
        "request is audited (evidence.play / evidence.download)."
    ),
    response_class=StreamingResponse,
    responses=CONTENT_RESPONSES,
)
async def get_evidence_content(
    *,
    evidence_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
    store: ContentStoreDep,
    disposition: Literal["inline", "attachment"] = "inline",
    reason: Reason = None,
    range_header: RangeHeader = None,
    if_range: IfRange = None,
) -> StreamingResponse:
    request = playback.ContentRequest(
        disposition=playback.Disposition(disposition),
        reason=reason,
        range_header=range_header,
        max_open_ended=settings.evidence.playback_max_range_bytes,
        if_range=if_range,
    )
    content = await playback.open_content(session, principal, auditor, evidence_id, request)
    return _streaming(store, content)


@router.head(
    "/{evidence_id}/content",
    summary="The headers a GET of the content would send (size, type, ETag), without a body.",
    description=(
        "The same permission checks as GET (evidence:play for inline, evidence:download for "
        "attachment) and the same Range / If-Range handling; no reason is needed since no "
        "byte is sent.  Audited as evidence.read (a metadata read), not as a play."
    ),
    response_class=Response,
    responses={**HEAD_RESPONSES, **error_responses(400, 401, 403, 404, 409, 410, 416, 422)},
)
async def head_evidence_content(
    *,
    evidence_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
    disposition: Literal["inline", "attachment"] = "inline",
    range_header: RangeHeader = None,
    if_range: IfRange = None,
) -> Response:
    request = playback.ContentRequest(
        disposition=playback.Disposition(disposition),
        range_header=range_header,
        max_open_ended=settings.evidence.playback_max_range_bytes,
        if_range=if_range,
        head=True,
    )
    content = await playback.open_content(session, principal, auditor, evidence_id, request)
    return _head(content)


@router.get(
    "/{evidence_id}/thumbnail",
    summary="The item's JPEG thumbnail (made by a background job).",
    description=(
        "Needs evidence:read in the item's department (or a grant).  404 "
        "`derivative_not_ready` until the job has made it (or for kinds without one)."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The thumbnail."},
        **error_responses(401, 404, 409, 410),
    },
)
async def get_evidence_thumbnail(
    evidence_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    store: ContentStoreDep,
) -> StreamingResponse:
    content = await playback.open_derivative(
        session,
        principal,
        auditor,
        evidence_id,
        kind=DerivativeKind.THUMBNAIL,
        request=playback.ContentRequest(),
    )
    return _streaming(store, content)


@router.get(
    "/{evidence_id}/proxy",
    summary="Play the low-bitrate browser proxy (MP4), with HTTP byte ranges.",
    description=(
        "Video items: H.264/AAC `video/mp4`; audio items: mono AAC `audio/mp4`.  Needs "
        "evidence:play in the item's department (or a grant); `reason` as for content.  "
        "404 `derivative_not_ready` until the background job has made it."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": PROXY_TYPES, "description": "The whole proxy."},
        206: {"content": PROXY_TYPES, "description": "The requested byte range."},
        **error_responses(400, 401, 403, 404, 409, 410, 416, 422),
    },
)
async def get_evidence_proxy(
    *,
    evidence_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
    store: ContentStoreDep,
    reason: Reason = None,
    range_header: RangeHeader = None,
    if_range: IfRange = None,
) -> StreamingResponse:
    request = playback.ContentRequest(
        reason=reason,
        range_header=range_header,
        max_open_ended=settings.evidence.playback_max_range_bytes,
        if_range=if_range,
    )
    content = await playback.open_derivative(
        session, principal, auditor, evidence_id, kind=DerivativeKind.PROXY, request=request
    )
    return _streaming(store, content)


@router.head(
    "/{evidence_id}/proxy",
    summary="The headers a GET of the browser proxy would send, without a body.",
    description=(
        "Needs evidence:play, as GET; Range and If-Range as GET; no reason needed.  Audited "
        "as evidence.read (a metadata read), not as a play."
    ),
    response_class=Response,
    responses={**HEAD_RESPONSES, **error_responses(400, 401, 403, 404, 409, 410, 416)},
)
async def head_evidence_proxy(
    *,
    evidence_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
    range_header: RangeHeader = None,
    if_range: IfRange = None,
) -> Response:
    request = playback.ContentRequest(
        range_header=range_header,
        max_open_ended=settings.evidence.playback_max_range_bytes,
        if_range=if_range,
        head=True,
    )
    content = await playback.open_derivative(
        session, principal, auditor, evidence_id, kind=DerivativeKind.PROXY, request=request
    )
    return _head(content)
