"""HTTP adapter for evidence records, categories and search (rules live in service.py and
search.py); playback and download are in endpoints_playback.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.evidence import geo, search, service
from citywitness.evidence.derivative_models import Derivative, DerivativeKind
from citywitness.evidence.errors import InvalidSearch
from citywitness.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from citywitness.evidence.schemas import (
    CategoryList,
    CategoryOut,
    CategoryUpdate,
    ClassificationLabel,
    EvidenceOut,
    EvidencePage,
    EvidenceUpdate,
)
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/evidence", tags=["evidence"])


async def _out(session: AsyncSession, items: list[EvidenceItem]) -> list[EvidenceOut]:
    made: dict[uuid.UUID, list[str]] = {item.id: [] for item in items}
    if items:
        rows = await session.execute(
            select(Derivative.evidence_id, Derivative.kind)
            .where(
                Derivative.evidence_id.in_(list(made)),
                # redacted videos: GET /evidence/{id}/redactions (redaction:review)
                Derivative.kind != DerivativeKind.REDACTED,
            )
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
    summary="Search evidence the caller may see (newest first by capture or ingest time).",
    description=(
        "Needs evidence:read; lists items of departments where the caller holds it, and "
        "items granted to the caller, within the caller's clearance.  Filters narrow the "
        "result: capture time overlapping [captured_from, captured_to], officer, recorder, "
        "department, category code, tags (all given), classification, kind, state, a "
        "bounding box `bbox=min_lon,min_lat,max_lon,max_lat` or a circle "
        "(`lat`, `lon`, `radius_m`), and `q`: full text over tags and notes (web-search "
        "syntax).  `sort` picks the order (see the parameter).  Pass `next_cursor` back as "
        "`cursor`, with the same filters and sort, for the next page; a cursor of another "
        "sort is 400 invalid_cursor."
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
    sort: Annotated[
        search.SearchSort | None,
        Query(
            description="`captured`: capture time, newest first, items without one last; "
            "`created`: ingest time, newest first.  Default: `captured` when "
            "captured_from or captured_to is given, else `created`."
        ),
    ] = None,
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
        sort=sort,
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


@router.patch(
    "/categories/{category_id}",
    summary="Change a category's retention policy (keep period, legal basis).",
    description=(
        "Needs evidence:manage platform-wide (a platform admin): categories are shared by "
        "every department.  A new period applies to items of the category from now on; when "
        "an older item's date passes, the daily job keeps it longer if the new period says "
        "so (the longest rule wins): a change never shortens a stored item's retention.  "
        "`retention_days` null makes the category permanent.  Audited with old and new "
        "values."
    ),
    response_model=CategoryOut,
    responses=error_responses(401, 403, 404, 422),
)
async def patch_category(
    category_id: uuid.UUID,
    body: CategoryUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> CategoryOut:
    category = await service.update_category(session, principal, auditor, category_id, body)
    return CategoryOut.model_validate(category)


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
