"""HTTP adapter of tus 1.0 uploads under /api/v1/uploads (see docs/ingest.md).

POST, HEAD and PATCH authenticate in a short transaction of their own instead of the
request-wide `DbSession`: a PATCH body may stream for minutes and must not hold a
database connection meanwhile (`tus_stream.py` runs the units of work).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from citywitness.api.deps import (
    AuditorDep,
    CurrentPrincipal,
    DbSession,
    client_address,
    get_settings,
    optional_principal,
)
from citywitness.evidence.errors import EmptyFile
from citywitness.evidence.runtime import ContentStoreDep, get_content_store
from citywitness.evidence.tus import (
    CallContext,
    Snapshot,
    UploadStatus,
    create_upload,
    load_visible,
    terminate_upload,
    upload_status,
    validate_creation,
)
from citywitness.evidence.tus_protocol import (
    CHECKSUM_ALGORITHMS,
    TUS_EXTENSIONS,
    TUS_VERSION,
    parse_checksum,
    parse_int_header,
    parse_metadata,
    require_offset_content_type,
    require_version,
    tus_headers,
)
from citywitness.evidence.tus_stream import (
    BodyInterrupted,
    PatchRequest,
    UploadReceiver,
    UploadRegistry,
)
from citywitness.kit.errors import NotAuthenticated
from citywitness.kit.web import ErrorBody, error_responses

router = APIRouter(prefix="/uploads", tags=["uploads"])

TusResumable = Annotated[str | None, Header(alias="Tus-Resumable", max_length=20)]
UploadOffset = Annotated[str | None, Header(alias="Upload-Offset", max_length=20)]
UploadLength = Annotated[str | None, Header(alias="Upload-Length", max_length=20)]
UploadMetadata = Annotated[str | None, Header(alias="Upload-Metadata")]
UploadChecksum = Annotated[str | None, Header(alias="Upload-Checksum", max_length=200)]
ContentType = Annotated[str | None, Header(alias="Content-Type", max_length=200)]


def _receiver(request: Request) -> UploadReceiver:
    """The process's receiver (its writers live between requests), made on first use."""
    state = request.app.state
    receiver: UploadReceiver | None = getattr(state, "tus_receiver", None)
    if receiver is None:
        settings = get_settings(request)
        receiver = UploadReceiver(
            state.db, get_content_store(request), settings.evidence, UploadRegistry()
        )
        state.tus_receiver = receiver
    return receiver


async def _caller(request: Request, session: AsyncSession) -> CallContext:
    """Authenticate in the first unit of work (see the module doc)."""
    principal = await optional_principal(request, session)
    if principal is None:
        raise NotAuthenticated("log in or send an API token")
    return CallContext(
        principal, client_address(request), getattr(request.state, "request_id", None)
    )


async def _body(request: Request) -> Any:
    try:
        async for piece in request.stream():
            yield piece
    except ClientDisconnect:
        raise BodyInterrupted from None


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return None if value is None else parse_int_header("Content-Length", value)


@router.options(
    "",
    summary="tus discovery: version, extensions, checksum algorithms, maximum size.",
    status_code=204,
    response_model=None,
    response_class=Response,
)
async def tus_options(request: Request) -> Response:
    max_size = get_settings(request).evidence.upload_max_bytes
    headers = tus_headers(
        **{
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Checksum-Algorithm": CHECKSUM_ALGORITHMS,
            "Tus-Max-Size": str(max_size),
        }
    )
    return Response(status_code=204, headers=headers)


@router.post(
    "",
    summary="Create a tus upload (creation, creation-with-upload).",
    status_code=201,
    response_model=None,
    response_class=Response,
    responses={
        **error_responses(400, 401, 403, 409, 412, 413, 415, 422),
        460: {"model": ErrorBody, "description": "Checksum Mismatch (`checksum_mismatch`)."},
        507: {"model": ErrorBody, "description": "No room, or over the department's quota."},
    },
)
async def tus_create(
    request: Request,
    *,
    tus_resumable: TusResumable = None,
    upload_length: UploadLength = None,
    upload_metadata: UploadMetadata = None,
    upload_checksum: UploadChecksum = None,
    content_type: ContentType = None,
) -> Response:
    require_version(tus_resumable)
    length = parse_int_header("Upload-Length", upload_length)
    pairs = parse_metadata(upload_metadata)
    body_length = _content_length(request)
    with_body = bool(body_length) or "transfer-encoding" in request.headers
    if with_body:
        require_offset_content_type(content_type)
    checksum = parse_checksum(upload_checksum)
    if length == 0:
        raise EmptyFile(fields={"Upload-Length": "zero-byte files are not evidence"})
    receiver = _receiver(request)
    async with receiver.db.transaction() as session:
        ctx = await _caller(request, session)
        new = await validate_creation(
            session, ctx.principal, receiver.settings, length=length, pairs=pairs
        )
        upload = await create_upload(
            session, ctx.auditor(session), receiver.store, receiver.settings, new
        )
    location = str(request.url_for("tus_head", upload_id=str(upload.id)))
    created = UploadStatus(upload.id, 0, upload.upload_length, upload.expires_at)
    headers = {**created.headers(), "Location": location}
    if with_body:
        patch = PatchRequest(upload.id, 0, checksum, body_length, _body(request))
        async with receiver.db.transaction() as session:
            snap = await receiver.snapshot(session, ctx, upload.id)
        status = await receiver.receive(ctx, snap, patch)
        headers = {**status.headers(), "Location": location}
    return Response(status_code=201, headers=headers)


@router.head(
    "/{upload_id}",
    summary="Offset of a tus upload (how many bytes the server holds durably).",
    name="tus_head",
    response_model=None,
    response_class=Response,
    responses=error_responses(401, 404, 410, 412),
)
async def tus_head(
    request: Request, upload_id: uuid.UUID, tus_resumable: TusResumable = None
) -> Response:
    require_version(tus_resumable)
    receiver = _receiver(request)
    async with receiver.db.transaction() as session:
        ctx = await _caller(request, session)
        status = await upload_status(session, receiver.store, ctx.principal, upload_id)
        snap = (
            None
            if status.evidence_id or status.offset < status.length
            else Snapshot.of(await load_visible(session, ctx.principal, upload_id))
        )
    if snap is not None:
        status = await receiver.recover(ctx, snap)
    return Response(status_code=200, headers=status.headers())


@router.patch(
    "/{upload_id}",
    summary="Append bytes to a tus upload at Upload-Offset (checksum verified if sent).",
    status_code=204,
    response_model=None,
    response_class=Response,
    responses={
        **error_responses(400, 401, 404, 409, 410, 412, 413, 415, 422),
        460: {"model": ErrorBody, "description": "Checksum Mismatch: nothing of it was kept."},
        507: {"model": ErrorBody, "description": "No room, or over the department's quota."},
    },
)
async def tus_patch(
    request: Request,
    upload_id: uuid.UUID,
    *,
    tus_resumable: TusResumable = None,
    upload_offset: UploadOffset = None,
    upload_checksum: UploadChecksum = None,
    content_type: ContentType = None,
) -> Response:
    require_version(tus_resumable)
    require_offset_content_type(content_type)
    offset = parse_int_header("Upload-Offset", upload_offset)
    checksum = parse_checksum(upload_checksum)
    receiver = _receiver(request)
    async with receiver.db.transaction() as session:
        ctx = await _caller(request, session)
        snap = await receiver.snapshot(session, ctx, upload_id)
    patch = PatchRequest(upload_id, offset, checksum, _content_length(request), _body(request))
    try:
        status = await receiver.receive(ctx, snap, patch)
    except BodyInterrupted:  # nobody is listening any more
        return Response(status_code=400)
    return Response(status_code=204, headers=status.headers())


@router.delete(
    "/{upload_id}",
    summary="Terminate a tus upload: its partial bytes are deleted.",
    status_code=204,
    response_model=None,
    response_class=Response,
    responses=error_responses(401, 404, 409, 410, 412),
)
async def tus_delete(
    upload_id: uuid.UUID,
    *,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    store: ContentStoreDep,
    request: Request,
    tus_resumable: TusResumable = None,
) -> Response:
    require_version(tus_resumable)
    receiver = _receiver(request)
    upload = await load_visible(session, principal, upload_id)
    live = receiver.registry.entry(upload.storage_upload_id)
    async with live.lock:  # first this process's lock, then the row's (as PATCH does)
        await session.refresh(upload, with_for_update=True)
        await terminate_upload(session, auditor, store, upload)
        receiver.registry.forget(upload.storage_upload_id)
    return Response(status_code=204, headers=tus_headers())
