"""Console API: alerts in scope, one alert with its history, and acting on it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from citywitness.alerts import console
from citywitness.alerts.console import AlertFilters, AlertView
from citywitness.alerts.kinds import AlertState, Severity
from citywitness.alerts.schemas import (
    AlertDetail,
    AlertEventOut,
    AlertOut,
    AlertPage,
    DeliveryOut,
    TransitionIn,
)
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.evidence.runtime import ContentStoreDep
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/alerts", tags=["alerts"])


def detail(found: AlertView) -> AlertDetail:
    base = AlertOut.model_validate(found.alert).model_dump()
    return AlertDetail(
        **base,
        events=[AlertEventOut.model_validate(e) for e in found.events],
        deliveries=[DeliveryOut.model_validate(d) for d in found.deliveries],
    )


@router.get(
    "",
    summary="List alerts in scope, newest first.",
    description="Needs alerts:read; only alerts of departments where it is held. Keyset-paged.",
    response_model=AlertPage,
    responses=error_responses(400, 401, 403, 422),
)
async def get_alerts(
    *,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    state: AlertState | None = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    severity: Severity | None = None,
    department_id: uuid.UUID | None = None,
    since: Annotated[datetime | None, Query(description="occurred_at at or after.")] = None,
    until: Annotated[datetime | None, Query(description="occurred_at before.")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    filters = AlertFilters(state, kind, severity, department_id, since, until)
    rows, next_cursor = await console.list_alerts(
        session, principal, auditor, filters, cursor=cursor, limit=limit
    )
    return AlertPage(items=[AlertOut.model_validate(a) for a in rows], next_cursor=next_cursor)


@router.get(
    "/{alert_id}",
    summary="Read one alert with its lifecycle events and deliveries.",
    description="Needs alerts:read in its department (404 outside scope).",
    response_model=AlertDetail,
    responses=error_responses(401, 404, 422),
)
async def get_alert(
    alert_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> AlertDetail:
    return detail(await console.get_alert(session, principal, auditor, alert_id))


@router.get(
    "/{alert_id}/snapshot",
    summary="The alert's snapshot: the frame (JPEG) its finding was seen in.",
    description=(
        "Needs alerts:read in its department (404 outside scope); 404"
        " `alerts.snapshot_not_found` when the alert has none. Audited (alerts.snapshot_read)."
    ),
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
        **error_responses(401, 404, 422),
    },
)
async def get_snapshot(
    alert_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    store: ContentStoreDep,
) -> Response:
    sha = await console.snapshot_of(session, principal, auditor, alert_id)
    return Response(
        await store.read_all(sha),
        media_type="image/jpeg",
        headers={"Cache-Control": "private, no-store"},
    )


@router.post(
    "/{alert_id}/transitions",
    summary="Acknowledge, dispatch, resolve or mark a false alarm.",
    description=(
        "Needs alerts:act in the alert's department. new -> acknowledged -> dispatched -> "
        "resolved or false; 409 alert_transition_not_allowed from any other state."
    ),
    response_model=AlertDetail,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
async def post_transition(
    alert_id: uuid.UUID,
    body: TransitionIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> AlertDetail:
    found = await console.act(
        session, principal, auditor, alert_id, action=body.action, note=body.note
    )
    return detail(found)
