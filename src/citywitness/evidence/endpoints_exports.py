"""HTTP adapter for court export packages (rules in exports_service.py, the job in
exports_build.py, the package format in ledger.export_*; docs/ledger.md)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.evidence import exports_service as service
from citywitness.evidence.exports_schemas import ExportCreate, ExportOut, ExportPage
from citywitness.evidence.runtime import ContentStoreDep
from citywitness.kit.web import error_responses
from citywitness.storage import ContentStore

router = APIRouter(prefix="/exports", tags=["exports"])

ZIP = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
PACKAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": ZIP, "description": "The whole package (no Range header)."},
    206: {"content": ZIP, "description": "The requested byte range (Content-Range)."},
    **error_responses(400, 401, 403, 404, 409, 410, 416),
}


@router.post(
    "",
    status_code=202,
    summary="Request a court export package of items, or of what a search finds.",
    description=(
        "Needs evidence:export on every item (an item outside the caller's scope is 404, "
        "and nothing is recorded).  Give `items` or `query` (the filters of GET "
        "/api/v1/evidence; every matching item must be exportable) and a `reason`.  The "
        "export is audited and recorded in the ledger (`evidence.exported` per item) at once; "
        "a background job builds the package, which `citywitness verify` checks offline.  "
        "Poll GET /api/v1/exports/{export_id} until `done`, then download the package."
    ),
    response_model=ExportOut,
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
async def post_export(
    body: ExportCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> ExportOut:
    request = service.ExportRequest(
        reason=body.reason, items=body.items, query=body.query, derivatives=body.derivatives
    )
    export = await service.request_export(
        session, principal, auditor, request, max_items=settings.exports.max_items
    )
    return ExportOut.of(export, await service.export_items(session, export.id))


@router.get(
    "",
    summary="List the caller's own exports, newest first.",
    description="Needs evidence:export.  Pass `next_cursor` back as `cursor` for the next page.",
    response_model=ExportPage,
    responses=error_responses(400, 401, 403, 422),
)
async def get_exports(
    session: DbSession,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ExportPage:
    found, next_cursor = await service.list_exports(session, principal, cursor=cursor, limit=limit)
    return ExportPage(items=[ExportOut.of(e) for e in found], next_cursor=next_cursor)


@router.get(
    "/{export_id}",
    summary="Read one export: its status, and the package's size and SHA-256 when done.",
    description="Only the requester (and platform admins) see an export; others get 404.",
    response_model=ExportOut,
    responses=error_responses(401, 403, 404),
)
async def get_export(
    export_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> ExportOut:
    export = await service.visible_export(session, principal, export_id)
    return ExportOut.of(export, await service.export_items(session, export.id))


async def _stream(store: ContentStore, content: service.PackageContent) -> AsyncIterator[bytes]:
    async for piece in store.read_range(content.sha256, content.start, content.end):
        yield piece


@router.get(
    "/{export_id}/package",
    summary="Download the package (a zip), with HTTP byte ranges.",
    description=(
        "Only the requester (and platform admins).  409 `export_not_ready` until the export "
        "is done, 410 `export_gone` once discarded or expired.  One `Range: bytes=` range "
        "per request (206); `If-Range` with the ETag (the package's SHA-256 in quotes).  "
        "Every request is audited (evidence.export.download)."
    ),
    response_class=StreamingResponse,
    responses=PACKAGE_RESPONSES,
)
async def get_export_package(
    *,
    export_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    store: ContentStoreDep,
    range_header: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
    if_range: Annotated[str | None, Header(alias="If-Range", max_length=200)] = None,
) -> StreamingResponse:
    content = await service.open_package(
        session,
        principal,
        auditor,
        store,
        export_id,
        range_header=range_header,
        if_range=if_range,
    )
    headers = dict(content.headers)
    headers["Content-Length"] = str(content.end - content.start)
    media_type = headers.pop("Content-Type")
    return StreamingResponse(
        _stream(store, content),
        status_code=content.status,
        headers=headers,
        media_type=media_type,
    )


@router.delete(
    "/{export_id}",
    status_code=204,
    summary="Discard an export: its package is crypto-shredded (the record stays).",
    description=(
        "Only the requester (and platform admins); audited.  409 `export_running` while "
        "the package is being built, 410 `export_gone` when already discarded or expired."
    ),
    response_class=Response,
    responses=error_responses(401, 403, 404, 409, 410),
)
async def delete_export(
    export_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    store: ContentStoreDep,
) -> Response:
    await service.discard_export(session, principal, auditor, store, export_id)
    return Response(status_code=204)
