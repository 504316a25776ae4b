"""HTTP adapter for reading the audit trail: a JSON page list and a streamed CSV export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep, get_database
from citywitness.audit import reading
from citywitness.audit.schemas import (
    AuditEventOut,
    AuditExportQuery,
    AuditListQuery,
    AuditPage,
)
from citywitness.kit.clock import utcnow
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/audit", tags=["audit"])

SCOPE = (
    "Needs audit:read.  Platform-wide holders see every event; a department auditor sees "
    "events of their departments and events whose actor is a member of them."
)


@router.get(
    "/events",
    summary="List audit events, newest first.",
    description=SCOPE + "  Keyset pagination: pass `next_cursor` back as `cursor`.",
    response_model=AuditPage,
    responses=error_responses(400, 401, 403, 422),
)
async def get_events(
    *,
    query: Annotated[AuditListQuery, Query()],
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> AuditPage:
    found, next_cursor = await reading.list_events(
        session, principal, auditor, query, cursor=query.cursor, limit=query.limit
    )
    return AuditPage(
        items=[AuditEventOut.model_validate(e) for e in found], next_cursor=next_cursor
    )


@router.get(
    "/events.csv",
    summary="Export audit events as CSV (header row; newest first; at most max_rows).",
    description=SCOPE
    + "  `max_rows` is capped by the server setting server.audit_export_max_rows; narrow "
    "with since/until to export more.",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8, one event per row."},
        **error_responses(401, 403, 422),
    },
)
async def get_events_csv(
    *,
    request: Request,
    query: Annotated[AuditExportQuery, Query()],
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> StreamingResponse:
    cap = settings.server.audit_export_max_rows
    rows = min(query.max_rows or cap, cap)
    statement = await reading.start_export(principal, auditor, query, max_rows=rows)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        reading.csv_lines(get_database(request), statement),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-events-{stamp}.csv"'},
    )
