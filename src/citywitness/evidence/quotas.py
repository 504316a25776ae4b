"""Department storage quotas: usage per department and the 507 check before any write.

Usage counts the stored, not yet destroyed evidence items of a department plus the
declared lengths of its open uploads (bytes it has been promised room for).  A
department without a row in `evidence_department_quotas` has no quota beyond the store's
own capacity (`ContentStore.ensure_capacity`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted, require_global
from citywitness.agencies.models import Department
from citywitness.audit.service import Auditor
from citywitness.evidence.lifecycle_errors import QuotaExceeded
from citywitness.evidence.models import (
    DepartmentQuota,
    EvidenceItem,
    EvidenceState,
    Upload,
    UploadState,
)


@dataclass(frozen=True)
class DepartmentUsage:
    department_id: uuid.UUID
    items: int
    stored_bytes: int
    reserved_bytes: int
    quota_bytes: int | None

    @property
    def used_bytes(self) -> int:
        return self.stored_bytes + self.reserved_bytes


async def department_usage(
    session: AsyncSession, department_id: uuid.UUID, *, exclude_upload: uuid.UUID | None = None
) -> DepartmentUsage:
    """What `department_id` stores and has reserved, and its quota (None = no quota)."""
    items, stored = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(EvidenceItem.size_bytes), 0)).where(
                EvidenceItem.department_id == department_id,
                EvidenceItem.state != EvidenceState.DESTROYED,
            )
        )
    ).one()
    open_uploads = select(func.coalesce(func.sum(Upload.upload_length), 0)).where(
        Upload.department_id == department_id, Upload.state == UploadState.OPEN
    )
    if exclude_upload is not None:
        open_uploads = open_uploads.where(Upload.id != exclude_upload)
    reserved = await session.scalar(open_uploads)
    quota = await session.scalar(
        select(DepartmentQuota.quota_bytes).where(DepartmentQuota.department_id == department_id)
    )
    return DepartmentUsage(department_id, int(items), int(stored), int(reserved or 0), quota)


async def check_quota(
    session: AsyncSession,
    department_id: uuid.UUID,
    nbytes: int,
    *,
    exclude_upload: uuid.UUID | None = None,
) -> None:
    """Raise `QuotaExceeded` (507 insufficient_storage) if `nbytes` more would not fit.

    Call it before accepting any byte (tus creation) and when registering an item.  The
    quota row is locked for the rest of the caller's transaction, so two concurrent
    writers of one department cannot both squeeze into the last free bytes.  Pass
    `exclude_upload` when the bytes being registered come from a still-open upload whose
    declared length is already counted.
    """
    if nbytes < 0:
        raise ValueError("nbytes must be >= 0")
    locked = await session.scalar(
        select(DepartmentQuota.quota_bytes)
        .where(DepartmentQuota.department_id == department_id)
        .with_for_update()
    )
    if locked is None:
        return
    usage = await department_usage(session, department_id, exclude_upload=exclude_upload)
    if usage.used_bytes + nbytes > locked:
        raise QuotaExceeded(
            fields={
                "department_id": str(department_id),
                "quota_bytes": locked,
                "used_bytes": usage.used_bytes,
                "requested_bytes": nbytes,
            }
        )


async def read_storage(
    session: AsyncSession, principal: Principal, auditor: Auditor, department_id: uuid.UUID
) -> DepartmentUsage:
    """A department's usage and quota: storage:read in that department (403 otherwise)."""
    ensure_permitted(
        principal,
        Permission.STORAGE_READ,
        department_id=department_id,
        object_type="department",
        object_id=department_id,
    )
    await _existing_department(session, department_id)
    usage = await department_usage(session, department_id)
    await auditor.record(
        "storage.usage.read",
        object_type="department",
        object_id=department_id,
        department_id=department_id,
    )
    return usage


async def set_quota(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    department_id: uuid.UUID,
    quota_bytes: int | None,
) -> DepartmentUsage:
    """Set (or with None remove) a department's quota: storage:manage held platform-wide.

    A quota below current usage is allowed: nothing is deleted, new writes are refused.
    """
    require_global(principal, Permission.STORAGE_MANAGE, action="storage.quota.set")
    await _existing_department(session, department_id)
    previous = await session.get(DepartmentQuota, department_id, with_for_update=True)
    if quota_bytes is None:
        if previous is not None:
            await session.delete(previous)
    elif previous is None:
        session.add(DepartmentQuota(department_id=department_id, quota_bytes=quota_bytes))
    else:
        previous.quota_bytes = quota_bytes
    await session.flush()
    await auditor.record(
        "storage.quota.set",
        object_type="department",
        object_id=department_id,
        department_id=department_id,
        details={
            "quota_bytes": quota_bytes,
            "previous": previous.quota_bytes if previous is not None else None,
        },
    )
    return await department_usage(session, department_id)


async def _existing_department(session: AsyncSession, department_id: uuid.UUID) -> None:
    if await session.get(Department, department_id) is None:
        err = ObjectNotVisible("no such department")
        err.refusing(Permission.STORAGE_READ.value, "department", str(department_id))
        raise err
