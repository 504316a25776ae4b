"""tus uploads: creation, status, termination and expiry (the rules; `endpoints_tus.py` is
the HTTP adapter, `tus_stream.py` receives the bytes and completes an upload).

An upload belongs to its creator: anyone else, or the creator once they no longer hold
`evidence:upload` in its department, gets 404.  The upload's bytes live in the storage
engine's staging area (encrypted) under `Upload.storage_upload_id`; the checkpoint there
is the truth about how many bytes are durable (`Upload-Offset`), the row's
`upload_offset` mirrors it after each PATCH.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted, require
from citywitness.agencies.models import Department
from citywitness.audit.service import Auditor
from citywitness.evidence.errors import InvalidMetadata
from citywitness.evidence.models import Upload, UploadState
from citywitness.evidence.quotas import check_quota
from citywitness.evidence.schemas import IngestMetadata
from citywitness.evidence.tus_protocol import (
    UploadExpired,
    UploadLost,
    UploadTerminated,
    UploadTooLarge,
    http_date,
    tus_headers,
)
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import Conflict, ValidationFailed
from citywitness.settings import EvidenceSettings
from citywitness.storage import ContentStore
from citywitness.storage.errors import UploadNotFound

UPLOAD = "evidence_upload"
SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
# tus metadata key -> IngestMetadata field (`name`/`type` are what Uppy sends).
FIELD_OF_KEY = {
    "filename": "filename",
    "name": "filename",
    "filetype": "media_type",
    "type": "media_type",
    "officer": "officer_badge",
    "recorder": "recorder_serial",
    "category": "category_code",
    "tags": "tags",
    "notes": "notes",
    "captured_start": "captured_start",
    "captured_end": "captured_end",
    "classification": "classification",
    "gps_track": "gps_track",  # GeoJSON Point/LineString or a JSON list of points, as text
}
OWN_KEYS = {"sha256", "department", "relativePath"}


class UnknownDepartment(ValidationFailed):
    """No department has this id or code."""

    code = "unknown_department"


class DepartmentRequired(ValidationFailed):
    """Name the department in the `department` metadata (you may upload to several)."""

    code = "department_required"


class UploadCompleted(Conflict):
    """The upload is complete: it became an evidence item and cannot be terminated."""

    code = "upload_completed"


@dataclass(frozen=True)
class CallContext:
    """Who calls, from where: what a unit of work outside the request's session needs."""

    principal: Principal
    client_address: str | None = None
    request_id: str | None = None

    def auditor(self, session: AsyncSession) -> Auditor:
        return Auditor(
            session=session,
            actor=self.principal,
            client_address=self.client_address,
            request_id=self.request_id,
        )


@dataclass(frozen=True)
class UploadStatus:
    """What HEAD and PATCH report."""

    id: uuid.UUID
    offset: int
    length: int
    expires_at: datetime | None
    evidence_id: uuid.UUID | None = None
    duplicate: bool | None = None  # known only in the response that completes the upload

    def headers(self) -> dict[str, str]:
        extra = {"Upload-Offset": str(self.offset), "Upload-Length": str(self.length)}
        if self.expires_at is not None:
            extra["Upload-Expires"] = http_date(self.expires_at)
        if self.evidence_id is not None:
            extra["CW-Evidence-Id"] = str(self.evidence_id)
        if self.duplicate is not None:
            extra["CW-Evidence-Duplicate"] = "true" if self.duplicate else "false"
        return tus_headers(**extra)


@dataclass(frozen=True)
class Snapshot:
    """What a PATCH needs of the upload row, read in the first unit of work."""

    id: uuid.UUID
    storage_id: str
    length: int
    offset: int
    department_id: uuid.UUID
    created_by: uuid.UUID
    expected_sha256: str | None
    metadata: dict[str, Any]

    @classmethod
    def of(cls, upload: Upload) -> Snapshot:
        return cls(
            upload.id,
            upload.storage_upload_id,
            upload.upload_length,
            upload.upload_offset,
            upload.department_id,
            upload.created_by,
            upload.expected_sha256,
            dict(upload.metadata_),
        )


@dataclass(frozen=True)
class NewUpload:
    """A validated creation request."""

    length: int
    department_id: uuid.UUID
    meta: IngestMetadata
    expected_sha256: str | None


def ingest_fields(pairs: dict[str, str]) -> dict[str, Any]:
    """tus metadata pairs -> IngestMetadata input (unknown keys are a 422)."""
    raw: dict[str, Any] = {}
    unknown = sorted(k for k in pairs if k not in FIELD_OF_KEY and k not in OWN_KEYS)
    if unknown:
        raise InvalidMetadata(fields=dict.fromkeys(unknown, "unknown metadata key"))
    for key, value in pairs.items():
        field = FIELD_OF_KEY.get(key)
        if field is None or field in raw or value == "":
            continue
        raw[field] = [t for t in value.split(",") if t.strip()] if field == "tags" else value
    return raw


async def resolve_department(
    session: AsyncSession, principal: Principal, value: str | None
) -> uuid.UUID:
    """The target department: by id or code; unnamed, the caller's only upload department."""
    if value is None or not value.strip():
        depts = principal.departments_with(Permission.EVIDENCE_UPLOAD)
        if depts is None or len(depts) != 1:
            raise DepartmentRequired(fields={"department": "required"})
        return next(iter(depts))
    value = value.strip()
    try:
        condition = or_(Department.id == uuid.UUID(value), Department.code == value)
    except ValueError:
        condition = Department.code == value[:40]
    found = await session.scalar(select(Department.id).where(condition))
    if found is None:
        raise UnknownDepartment(fields={"department": "no such department"})
    return found


async def validate_creation(
    session: AsyncSession,
    principal: Principal,
    settings: EvidenceSettings,
    *,
    length: int,
    pairs: dict[str, str],
) -> NewUpload:
    """Everything checked before a byte is accepted: size, metadata, permission, quota."""
    require(principal, Permission.EVIDENCE_UPLOAD, action="evidence.upload")
    if length > settings.upload_max_bytes:
        raise UploadTooLarge(
            fields={"Upload-Length": f"at most {settings.upload_max_bytes}"},
            headers=tus_headers(**{"Tus-Max-Size": str(settings.upload_max_bytes)}),
        )
    meta = IngestMetadata.parse(ingest_fields(pairs))
    expected = pairs.get("sha256") or None
    if expected is not None and not SHA256_HEX.match(expected):
        raise InvalidMetadata(fields={"sha256": "64 hexadecimal digits"})
    department_id = await resolve_department(session, principal, pairs.get("department"))
    ensure_permitted(
        principal,
        Permission.EVIDENCE_UPLOAD,
        department_id=department_id,
        object_type="department",
        object_id=department_id,
    )
    await check_quota(session, department_id, length)
    return NewUpload(length, department_id, meta, expected.lower() if expected else None)


async def create_upload(
    session: AsyncSession,
    auditor: Auditor,
    store: ContentStore,
    settings: EvidenceSettings,
    request: NewUpload,
) -> Upload:
    """Record a new upload (507 first if the store cannot take `length` more bytes)."""
    await store.ensure_capacity(request.length)
    principal = auditor.actor
    assert principal is not None  # noqa: S101 - creation always has a caller
    upload_id = uuid.uuid4()
    upload = Upload(
        id=upload_id,
        storage_upload_id=upload_id.hex,
        created_by=principal.user_id,
        department_id=request.department_id,
        upload_length=request.length,
        upload_offset=0,
        metadata_=request.meta.model_dump(mode="json", exclude_none=True),
        expected_sha256=request.expected_sha256,
        state=UploadState.OPEN,
        expires_at=utcnow() + timedelta(seconds=settings.upload_expiry_seconds),
    )
    session.add(upload)
    await session.flush()
    await auditor.record(
        "evidence.upload_created",
        object_type=UPLOAD,
        object_id=upload.id,
        department_id=upload.department_id,
        details={"length": request.length, "filename": request.meta.filename},
    )
    return upload


async def load_visible(
    session: AsyncSession, principal: Principal, upload_id: uuid.UUID, *, lock: bool = False
) -> Upload:
    """The caller's own upload in a department where they may upload; else 404 (audited)."""
    query = select(Upload).where(Upload.id == upload_id)
    upload = await session.scalar(query.with_for_update() if lock else query)
    if (
        upload is None
        or upload.created_by != principal.user_id
        or not principal.has_in(Permission.EVIDENCE_UPLOAD, upload.department_id)
    ):
        err = ObjectNotVisible("no such upload")
        err.refusing(Permission.EVIDENCE_UPLOAD.value, UPLOAD, str(upload_id))
        raise err
    return upload


def ensure_open(upload: Upload, now: datetime | None = None) -> None:
    """410 for an upload that was terminated, refused or expired."""
    if upload.state == UploadState.TERMINATED:
        raise UploadTerminated(headers=tus_headers())
    expired = upload.expires_at <= (now or utcnow())
    if upload.state == UploadState.EXPIRED or (upload.state == UploadState.OPEN and expired):
        raise UploadExpired(headers=tus_headers())


async def durable_offset(store: ContentStore, upload: Upload) -> int:
    """Bytes of an open upload that are durable in staging (its checkpoint)."""
    try:
        partial = await store.partial(upload.storage_upload_id)
    except UploadNotFound:
        if upload.upload_offset == 0:
            return 0  # no byte received yet: staging is made on the first PATCH
        raise UploadLost(headers=tus_headers()) from None
    return partial.sealed.size if partial.sealed is not None else partial.offset


def completed_status(upload: Upload) -> UploadStatus:
    """What HEAD (and a 409 to a PATCH) says about a completed upload: its item."""
    return UploadStatus(
        upload.id, upload.upload_length, upload.upload_length, None, upload.evidence_id
    )


async def upload_status(
    session: AsyncSession, store: ContentStore, principal: Principal, upload_id: uuid.UUID
) -> UploadStatus:
    """HEAD: the durable offset (or the evidence item, once complete)."""
    upload = await load_visible(session, principal, upload_id)
    if upload.state == UploadState.COMPLETED:
        # a crash between registration and the removal of staging left it behind
        await discard_staging(store, upload.storage_upload_id)
        return completed_status(upload)
    ensure_open(upload)
    offset = await durable_offset(store, upload)
    return UploadStatus(upload.id, offset, upload.upload_length, upload.expires_at)


async def discard_staging(store: ContentStore, storage_upload_id: str) -> None:
    """Remove an upload's partial bytes (idempotent)."""
    await store.discard_upload(storage_upload_id)


async def terminate_upload(
    session: AsyncSession, auditor: Auditor, store: ContentStore, upload: Upload
) -> None:
    """DELETE: the upload ends and its partial bytes are removed."""
    if upload.state == UploadState.COMPLETED:
        raise UploadCompleted(headers=tus_headers())
    if upload.state != UploadState.OPEN:
        ensure_open(upload)
    upload.state = UploadState.TERMINATED
    await session.flush()
    await discard_staging(store, upload.storage_upload_id)
    await auditor.record(
        "evidence.upload_terminated",
        object_type=UPLOAD,
        object_id=upload.id,
        department_id=upload.department_id,
    )


async def expire_stale_uploads(
    session: AsyncSession, auditor: Auditor, store: ContentStore, now: datetime | None = None
) -> list[uuid.UUID]:
    """Mark open uploads past Upload-Expires as expired and delete their partial bytes."""
    now = now or utcnow()
    stale = (
        await session.scalars(
            select(Upload)
            .where(Upload.state == UploadState.OPEN, Upload.expires_at <= now)
            .with_for_update(skip_locked=True)
            .limit(500)
        )
    ).all()
    for upload in stale:
        upload.state = UploadState.EXPIRED
        await discard_staging(store, upload.storage_upload_id)
        await auditor.record(
            "evidence.upload_expired",
            object_type=UPLOAD,
            object_id=upload.id,
            department_id=upload.department_id,
            details={"offset": upload.upload_offset, "length": upload.upload_length},
        )
    await session.flush()
    return [u.id for u in stale]
