"""HTTP adapter for evidence records, search, playback and derivatives (rules live in
service.py, search.py and playback.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.evidence import geo, playback, search, service
from citywitness.evidence.derivative_models import Derivative, DerivativeKind
from citywitness.evidence.errors import InvalidSearch
from citywitness.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from citywitness.evidence.runtime import ContentStoreDep
from citywitness.evidence.schemas import (
    CategoryList,
    CategoryOut,
    ClassificationLabel,
    EvidenceOut,
    EvidencePage,
    EvidenceUpdate,
)
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


async def _out(session: AsyncSession, items: list[EvidenceItem]) -> list[EvidenceOut]:
    made: dict[uuid.UUID, list[str]] = {item.id: [] for item in items}
    if items:
        rows = await session.execute(
            select(Derivative.evidence_id, Derivative.kind)
            .where(Derivative.evidence_id.in_(list(made)))
            .order_by(Derivative.kind)
        )
        for evidence_id, kind in rows:
            made[evidence_id].append(str(kind))
    return [
        EvidenceOut.model_validate(item).model_copy(update={"derivatives": made[item.id]})
        for item in items
    ]


def _bbox(raw: str | None) -> geo.BoundingBox | None:
    if raw is None:
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in raw.split(","))
    except ValueError:
        raise InvalidSearch(fields={"bbox": "min_lon,min_lat,max_lon,max_lat"}) from None
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise InvalidSearch(fields={"bbox": "latitudes within ±90"})
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise InvalidSearch(fields={"bbox": "longitudes within ±180"})
    return geo.BoundingBox(min_lat, max_lat, min_lon, max_lon)


def _near(lat: float | None, lon: float | None, radius_m: float | None) -> search.Near | None:
    given = [v is not None for v in (lat, lon, radius_m)]
    if not any(given):
        return None
    if lat is None or lon is None or radius_m is None:
        raise InvalidSearch(fields={"radius_m": "lat, lon and radius_m go together"})
    return search.Near(lat, lon, radius_m)


@router.get(
    "",
    summary="Search evidence the caller may see (newest first, keyset pages).",
    description=(
        "Needs evidence:read; lists items of departments where the caller holds it, and "
        "items granted to the caller, within the caller's clearance.  Filters narrow the "
        "result: capture time overlapping [captured_from, captured_to], officer, recorder, "
        "department, category code, tags (all given), classification, kind, state, a "
        "bounding box `bbox=min_lon,min_lat,max_lon,max_lat` or a circle "
        "(`lat`, `lon`, `radius_m`), and `q`: full text over tags and notes (web-search "
        "syntax).  Pass `next_cursor` back as `cursor` for the next page."
    ),
    response_model=EvidencePage,
    responses=error_responses(400, 401, 403, 422),
)
async def get_evidence_list(
    *,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
    captured_from: datetime | None = None,
    captured_to: datetime | None = None,
    officer_id: uuid.UUID | None = None,
    recorder_serial: Annotated[str | None, Query(max_length=80)] = None,
    department_id: uuid.UUID | None = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    tag: Annotated[list[str] | None, Query(max_length=20)] = None,
    classification: ClassificationLabel | None = None,
    kind: EvidenceKind | None = None,
    state: EvidenceState | None = None,
    bbox: Annotated[str | None, Query(max_length=200)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_m: Annotated[float | None, Query(gt=0, le=1_000_000)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> EvidencePage:
    filters = search.SearchFilters(
        captured_from=captured_from,
        captured_to=captured_to,
        officer_id=officer_id,
        recorder_serial=recorder_serial,
        department_id=department_id,
        category=category,
        tags=[t for t in (tag or []) if t][:20],
        classification=Classification.parse(classification) if classification else None,
        kind=kind,
        state=state,
        bbox=_bbox(bbox),
        near=_near(lat, lon, radius_m),
        text=q,
    )
    found, next_cursor = await search.search_items(
        session,
        principal,
        auditor,
        filters,
        cursor=cursor,
        limit=min(limit, settings.evidence.search_max_limit),
    )
    return EvidencePage(items=await _out(session, found), next_cursor=next_cursor)


@router.get(
    "/categories",
    summary="List the evidence categories and their retention rules.",
    description="Needs evidence:read in any department.",
    response_model=CategoryList,
    responses=error_responses(401, 403),
)
async def get_categories(session: DbSession, principal: CurrentPrincipal) -> CategoryList:
    found = await service.list_categories(session, principal)
    return CategoryList(items=[CategoryOut.model_validate(c) for c in found])


@router.get(
    "/{evidence_id}",
    summary="Read one evidence item's record (not its content).",
    description="Needs evidence:read in the item's department (or a grant), and clearance.",
    response_model=EvidenceOut,
    responses=error_responses(401, 404),
)
async def get_evidence(
    evidence_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> EvidenceOut:
    item = await service.get_item(session, principal, auditor, evidence_id)
    return (await _out(session, [item]))[0]


@router.patch(
    "/{evidence_id}",
    summary="Change an item's tags, notes, category, classification, officer, recorder or times.",
    description=(
        "Needs evidence:manage in the item's department.  The content never changes.  A "
        "classification may be raised or lowered, never above the caller's clearance.  A "
        "new category or capture time can lengthen retention, never shorten it."
    ),
    response_model=EvidenceOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
async def patch_evidence(
    evidence_id: uuid.UUID,
    body: EvidenceUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> EvidenceOut:
    item = await service.update_item(session, principal, auditor, evidence_id, body)
    return (await _out(session, [item]))[0]


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
    **error_responses(400, 401, 403, 404, 410, 416, 422),
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
    responses={**HEAD_RESPONSES, **error_responses(400, 401, 403, 404, 410, 416, 422)},
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
        **error_responses(401, 404, 410),
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
    summary="Play the low-bitrate browser proxy (H.264/AAC MP4), with HTTP byte ranges.",
    description=(
        "Needs evidence:play in the item's department (or a grant); `reason` as for "
        "content.  404 `derivative_not_ready` until the background job has made it."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "The whole proxy."},
        206: {"content": {"video/mp4": {}}, "description": "The requested byte range."},
        **error_responses(400, 401, 403, 404, 410, 416, 422),
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
    responses={**HEAD_RESPONSES, **error_responses(400, 401, 403, 404, 410, 416)},
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
