"""Console API: plate watch lists (lists, entries, CSV import, hits)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from citywitness.analysis import plate_watchlist_import as importer
from citywitness.analysis import plate_watchlist_service as service
from citywitness.analysis.models import StoredFinding
from citywitness.analysis.plate_watchlist_models import PlateList, PlateListEntry
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import PayloadTooLarge, ValidationFailed
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/watchlists/plates", tags=["watchlists"])

MAX_CSV_BYTES = 5 * 1024 * 1024
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}
ListKind = Literal["stolen", "wanted", "unpaid_violation"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ListCreate(_Body):
    department_id: uuid.UUID
    name: str = Field(min_length=1, max_length=80, description="Unique in the department.")
    kind: ListKind = Field(description="Decides the alert severity of a hit.")
    description: str = Field(default="", max_length=2000)


class ListOut(BaseModel):
    id: uuid.UUID
    department_id: uuid.UUID
    name: str
    kind: str
    description: str
    created_by: uuid.UUID
    created_at: datetime
    active_entries: int | None = Field(default=None, description="Only in the list of lists.")

    @classmethod
    def of(cls, plate_list: PlateList, active_entries: int | None = None) -> ListOut:
        return cls(
            id=plate_list.id,
            department_id=plate_list.department_id,
            name=plate_list.name,
            kind=plate_list.kind,
            description=plate_list.description,
            created_by=plate_list.created_by,
            created_at=plate_list.created_at,
            active_entries=active_entries,
        )


class EntryCreate(_Body):
    plate: str = Field(
        min_length=2, max_length=24, description="As printed; separators are dropped."
    )
    country: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{2}$", description="ISO 3166 code; None: any."
    )
    reason: str = Field(default="", max_length=500)
    expires_at: datetime | None = Field(default=None, description="Stops matching then.")


class EntryOut(BaseModel):
    id: uuid.UUID
    list_id: uuid.UUID
    plate: str
    country: str | None
    reason: str
    added_by: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    removed_at: datetime | None
    active: bool = Field(description="Matching now: not removed and not expired.")

    @classmethod
    def of(cls, entry: PlateListEntry) -> EntryOut:
        now = utcnow()
        return cls(
            id=entry.id,
            list_id=entry.list_id,
            plate=entry.plate,
            country=entry.country,
            reason=entry.reason,
            added_by=entry.added_by,
            created_at=entry.created_at,
            expires_at=entry.expires_at,
            removed_at=entry.removed_at,
            active=entry.removed_at is None
            and (entry.expires_at is None or entry.expires_at > now),
        )


class ListDetail(ListOut):
    entries: list[EntryOut]


class ListPage(BaseModel):
    items: list[ListOut]


class ImportOut(BaseModel):
    lists_created: int
    entries_added: int
    duplicates_skipped: int


class HitOut(BaseModel):
    """A plate finding that matched the entry."""

    finding_id: int
    evidence_id: uuid.UUID
    offset_s: float
    duration_s: float | None
    confidence: float
    plate: str
    display: str | None
    exact: bool | None
    created_at: datetime

    @classmethod
    def of(cls, finding: StoredFinding) -> HitOut:
        attributes = finding.attributes
        watch = attributes.get("watchlist") or {}
        return cls(
            finding_id=finding.id,
            evidence_id=finding.evidence_id,
            offset_s=finding.offset_s,
            duration_s=finding.duration_s,
            confidence=finding.confidence,
            plate=str(attributes.get("text", "")),
            display=attributes.get("display"),
            exact=watch.get("exact"),
            created_at=finding.created_at,
        )


class HitPage(BaseModel):
    items: list[HitOut]


@router.get(
    "",
    summary="List plate watch lists in scope.",
    description="Needs watchlists:read; only lists of departments where it is held.",
    response_model=ListPage,
    responses=error_responses(401, 403, 422),
)
async def get_lists(
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    department_id: uuid.UUID | None = None,
) -> ListPage:
    rows = await service.list_lists(session, principal, auditor, department_id=department_id)
    return ListPage(items=[ListOut.of(plate_list, count) for plate_list, count in rows])


@router.post(
    "",
    status_code=201,
    summary="Create a plate watch list in a department.",
    description="Needs watchlists:manage in the department. 409 plate_list_exists.",
    response_model=ListOut,
    responses=error_responses(401, 403, 409, 422),
)
async def post_list(
    body: ListCreate, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> ListOut:
    plate_list = await service.create_list(
        session,
        principal,
        auditor,
        department_id=body.department_id,
        name=body.name,
        kind=body.kind,
        description=body.description,
    )
    return ListOut.of(plate_list)


@router.post(
    "/import",
    summary="Import a CSV file of plates into a department's lists (all or nothing).",
    description=(
        "Columns plate, list, reason and optionally country, expires_at, kind. Lists are"
        " found by name and created when missing. Needs watchlists:manage in the department."
        " 422 invalid_csv (fields: line, problem); 413 over 5 MiB."
    ),
    response_model=ImportOut,
    responses=error_responses(401, 403, 413, 422),
    openapi_extra=CSV_BODY,
)
async def post_import(
    request: Request,
    department_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> ImportOut:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_CSV_BYTES:
            raise PayloadTooLarge("the CSV file is larger than 5 MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("the CSV file is not UTF-8") from None
    result = await importer.import_csv(
        session, principal, auditor, department_id=department_id, text=text
    )
    return ImportOut(
        lists_created=result.lists_created,
        entries_added=result.entries_added,
        duplicates_skipped=result.duplicates_skipped,
    )


@router.get(
    "/{list_id}",
    summary="Read a plate watch list and its entries.",
    description="Needs watchlists:read in the list's department (404 outside scope).",
    response_model=ListDetail,
    responses=error_responses(401, 404, 422),
)
async def get_list(
    list_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    active_only: bool = True,
) -> ListDetail:
    plate_list, entries = await service.get_list(
        session, principal, auditor, list_id, active_only=active_only
    )
    base = ListOut.of(plate_list).model_dump()
    return ListDetail(**base, entries=[EntryOut.of(e) for e in entries])


@router.post(
    "/{list_id}/entries",
    status_code=201,
    summary="Put a plate on a watch list.",
    description=(
        "Needs watchlists:manage in the list's department. 422 invalid_plate,"
        " invalid_expiry; 409 plate_entry_exists."
    ),
    response_model=EntryOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_entry(
    list_id: uuid.UUID,
    body: EntryCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> EntryOut:
    entry = await service.add_entry(
        session,
        principal,
        auditor,
        list_id,
        plate=body.plate,
        reason=body.reason,
        country=body.country,
        expires_at=body.expires_at,
    )
    return EntryOut.of(entry)


@router.delete(
    "/{list_id}/entries/{entry_id}",
    summary="Take a plate off a watch list (kept as removed, so its hits stay explained).",
    description="Needs watchlists:manage in the list's department. 409 plate_entry_removed.",
    response_model=EntryOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def delete_entry(
    list_id: uuid.UUID,
    entry_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> EntryOut:
    entry = await service.remove_entry(session, principal, auditor, list_id, entry_id)
    return EntryOut.of(entry)


@router.get(
    "/{list_id}/entries/{entry_id}/hits",
    summary="Plate findings that matched a watch-list entry.",
    description=(
        "Needs watchlists:read in the list's department; only findings on evidence the caller"
        " may analyse (analysis:read) are returned, newest first (at most 500)."
    ),
    response_model=HitPage,
    responses=error_responses(401, 404, 422),
)
async def get_hits(
    list_id: uuid.UUID,
    entry_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> HitPage:
    found = await service.hits(session, principal, auditor, list_id, entry_id)
    return HitPage(items=[HitOut.of(f) for f in found])
