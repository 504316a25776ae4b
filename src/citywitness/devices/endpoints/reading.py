"""Console API: a recorder's track (GeoJSON) and its events."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.devices import reading
from citywitness.devices.schemas import EventOut, EventPage, Feature, TrackOut
from citywitness.kit.clock import utcnow
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/devices", tags=["devices"])

DEFAULT_WINDOW = timedelta(hours=24)


@router.get(
    "/{recorder_id}/positions",
    summary="The recorder's positions in [from, to) as GeoJSON, oldest first, keyset-paged.",
    description=(
        "Needs devices:track in its department (404 outside scope). `shape=points` (default): "
        "a FeatureCollection of Point features with time, accuracy, speed, heading and fix; "
        "`shape=line`: one LineString feature whose `times` property lists each vertex's "
        "time. Default window: the 24 hours before `to` (default now). Audited."
    ),
    response_model=TrackOut,
    responses=error_responses(400, 401, 404, 422),
)
async def get_positions(
    *,
    recorder_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: AwareDatetime | None = None,
    shape: Literal["points", "line"] = "points",
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> TrackOut:
    end = to or utcnow()
    start = from_ or end - DEFAULT_WINDOW
    rows, next_cursor = await reading.positions_page(
        session, principal, auditor, recorder_id, start=start, end=end, cursor=cursor, limit=limit
    )
    features = [Feature.model_validate(f) for f in reading.as_features(rows, shape)]
    return TrackOut(features=features, next_cursor=next_cursor)


@router.get(
    "/{recorder_id}/events",
    summary="The recorder's events (device and presence), newest first, keyset-paged.",
    description="Needs devices:read in its department (404 outside scope). Audited.",
    response_model=EventPage,
    responses=error_responses(400, 401, 404, 422),
)
async def get_events(
    *,
    recorder_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: AwareDatetime | None = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    rows, next_cursor = await reading.events_page(
        session,
        principal,
        auditor,
        recorder_id,
        start=from_,
        end=to,
        kind=kind,
        cursor=cursor,
        limit=limit,
    )
    return EventPage(items=[EventOut.model_validate(e) for e in rows], next_cursor=next_cursor)
