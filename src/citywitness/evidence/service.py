"""Evidence records: reading one item, changing its metadata, the categories; the `evidence`
grant type.

Seeing an item needs the permission in the item's department (or a live grant on the item)
and a clearance at least the item's classification; anything else is 404.  Every read and
every change is audited.  Changes need evidence:manage; a classification is never set
above the caller's own clearance.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.levels import Classification
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.registry import Owner, register_object_type
from citywitness.access.service import (
    ensure_permitted,
    ensure_visible,
    has_grant,
    require,
    require_global,
)
from citywitness.audit.service import Auditor
from citywitness.evidence import custody, search_index
from citywitness.evidence.derivative_models import Derivative, DerivativeKind
from citywitness.evidence.errors import (
    CategoryNotFound,
    ClassificationAboveClearance,
    EvidenceNotActive,
    InvalidMetadata,
)
from citywitness.evidence.ingest import EVIDENCE, category_by_code, resolve_officer
from citywitness.evidence.models import Category, EvidenceItem, EvidenceState
from citywitness.evidence.retention import longest, retain_until_for
from citywitness.evidence.schemas import CategoryUpdate, EvidenceUpdate, unique_tags
from citywitness.kit.clock import utcnow

P = Permission


async def evidence_owner(session: AsyncSession, evidence_id: uuid.UUID) -> Owner | None:
    """Grant resolver: the department and classification of an item."""
    item = await session.get(EvidenceItem, evidence_id)
    if item is None:
        return None
    return Owner(
        department_id=item.department_id, classification=Classification(item.classification)
    )


# Items are shared one by one (with an investigating department, a prosecutor).
register_object_type(
    EVIDENCE,
    evidence_owner,
    read_permission=P.EVIDENCE_READ,
    grantable={P.EVIDENCE_READ, P.EVIDENCE_PLAY, P.EVIDENCE_DOWNLOAD, P.EVIDENCE_EXPORT},
    on_grant=custody.grant_changed,
)


def _not_visible(permission: Permission, evidence_id: uuid.UUID) -> ObjectNotVisible:
    err = ObjectNotVisible("no such evidence")
    err.refusing(permission.value, EVIDENCE, str(evidence_id))
    return err


async def is_granted(
    session: AsyncSession, principal: Principal, permission: Permission, item: EvidenceItem
) -> bool:
    """Whether a live grant (not a role) gives the caller `permission` on this item."""
    if principal.has_in(permission, item.department_id):
        return False
    return await has_grant(session, principal, permission, EVIDENCE, item.id)


async def visible_item(
    session: AsyncSession,
    principal: Principal,
    evidence_id: uuid.UUID,
    permission: Permission = P.EVIDENCE_READ,
) -> EvidenceItem:
    """The item if the caller may see it with `permission`; 404 (audited) otherwise."""
    item = await session.get(EvidenceItem, evidence_id)
    if item is None:
        raise _not_visible(permission, evidence_id)
    ensure_visible(
        principal,
        permission,
        department_id=item.department_id,
        classification=item.classification,
        object_type=EVIDENCE,
        object_id=item.id,
        granted=await is_granted(session, principal, permission, item),
    )
    return item


async def derivative_kinds(session: AsyncSession, evidence_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(Derivative.kind)
        .where(Derivative.evidence_id == evidence_id, Derivative.kind != DerivativeKind.REDACTED)
        .order_by(Derivative.kind)
    )
    return [str(kind) for kind in rows]


async def get_item(
    session: AsyncSession, principal: Principal, auditor: Auditor, evidence_id: uuid.UUID
) -> EvidenceItem:
    item = await visible_item(session, principal, evidence_id)
    await auditor.record(
        "evidence.read", object_type=EVIDENCE, object_id=item.id, department_id=item.department_id
    )
    return item


def _new_classification(principal: Principal, label: str | None) -> int:
    if label is None:
        raise InvalidMetadata(fields={"classification": "cannot be null"})
    level = Classification.parse(label)
    if level > principal.clearance:
        raise ClassificationAboveClearance(
            fields={"classification": f"above your clearance ({principal.clearance.label})"}
        )
    return int(level)


async def _resolved(
    session: AsyncSession, principal: Principal, item: EvidenceItem, changes: dict[str, Any]
) -> dict[str, Any]:
    """The requested changes as column values, validated."""
    values: dict[str, Any] = {}
    for key in ("tags", "notes"):
        if key in changes:
            if changes[key] is None:
                raise InvalidMetadata(fields={key: "cannot be null"})
            values[key] = unique_tags(changes[key]) if key == "tags" else changes[key]
    if "classification" in changes:
        values["classification"] = _new_classification(principal, changes["classification"])
    if "category_code" in changes:
        category = await category_by_code(session, changes["category_code"])
        values["category_id"] = category.id if category is not None else None
    if "officer_id" in changes:
        values["officer_id"] = await resolve_officer(
            session, item.department_id, officer_id=changes["officer_id"]
        )
    for key in ("recorder_serial", "captured_start", "captured_end"):
        if key in changes:
            values[key] = changes[key]
    for key in ("captured_start", "captured_end"):
        when = values.get(key)
        if isinstance(when, datetime) and when.tzinfo is None:
            raise InvalidMetadata(fields={key: "a time with a UTC offset"})
    start = values.get("captured_start", item.captured_start)
    end = values.get("captured_end", item.captured_end)
    if start is not None and end is not None and end < start:
        raise InvalidMetadata(fields={"captured_end": "is before captured_start"})
    return {k: v for k, v in values.items() if getattr(item, k) != v}


async def _retention_after(
    session: AsyncSession, item: EvidenceItem, values: dict[str, Any]
) -> datetime | None:
    """The longest of the current retention and the one the new category/capture time gives."""
    category_id = values.get("category_id", item.category_id)
    category = await session.get(Category, category_id) if category_id is not None else None
    anchor = values.get("captured_start", item.captured_start) or item.created_at
    return longest(item.retain_until, retain_until_for(category, anchor, utcnow()))


def _audit_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value


async def update_item(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    data: EvidenceUpdate,
) -> EvidenceItem:
    """Change an item's metadata (never its content); one audit event per change set."""
    item = await visible_item(session, principal, evidence_id)
    ensure_permitted(
        principal,
        P.EVIDENCE_MANAGE,
        department_id=item.department_id,
        object_type=EVIDENCE,
        object_id=item.id,
    )
    if item.state != EvidenceState.ACTIVE:
        raise EvidenceNotActive(fields={"state": str(item.state)})
    values = await _resolved(session, principal, item, data.changes())
    if not values:
        return item
    before = {k: _audit_value(getattr(item, k)) for k in values}
    if {"category_id", "captured_start"} & values.keys():
        values["retain_until"] = await _retention_after(session, item, values)
    for key, value in values.items():
        setattr(item, key, value)
    if {"tags", "notes"} & values.keys():
        item.search_vector = search_index.vector(item.tags, item.notes, item.analysis_text)
    await session.flush()
    await session.refresh(item)
    await custody.record(
        auditor,
        "evidence.update",
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=item.department_id,
        details={
            "changed": sorted(before),
            "before": {k: v for k, v in before.items() if k != "notes"},
            "after": {k: _audit_value(values[k]) for k in before if k != "notes"},
        },
    )
    return item


async def list_categories(session: AsyncSession, principal: Principal) -> list[Category]:
    """Every category (not secret: the same list for anyone who may read evidence)."""
    require(principal, P.EVIDENCE_READ, action="evidence.categories")
    return list(await session.scalars(select(Category).order_by(Category.code)))


async def update_category(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    category_id: uuid.UUID,
    data: CategoryUpdate,
) -> Category:
    """Change a category's retention policy: platform-wide, so a platform admin's only.

    Items already stored keep their `retain_until`; the daily job lengthens it to a longer
    period, never shortens it (retention.py).  Audited with the old and new values.
    """
    require_global(principal, P.EVIDENCE_MANAGE, action="evidence.categories.update")
    category = await session.get(Category, category_id, with_for_update=True)
    if category is None:
        raise CategoryNotFound()
    changes = {k: v for k, v in data.changes().items() if getattr(category, k) != v}
    if changes:
        before = {key: getattr(category, key) for key in changes}
        for key, value in changes.items():
            setattr(category, key, value)
        await session.flush()
        await auditor.record(
            "evidence.categories.update",
            object_type="evidence_category",
            object_id=category.id,
            details={"code": category.code, "before": before, "after": changes},
        )
    return category
