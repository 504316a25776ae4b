"""Console WebSocket: /api/v1/ws/alerts pushes alerts in scope as they are raised and change.

Authentication as /api/v1/ws/devices: `Authorization: Bearer`, an `access_token` query
parameter, or the session cookie with the platform's own `Origin`.  Needs alerts:read.  On
connect: `{"type": "hello", "open": [<summaries of open alerts in scope>]}`; then one
message per change, `{"type": "alert", "event": "raised" | "repeated" | "acknowledge" |
..., "alert": {id, kind, severity, state, title, department_id, recorder_id, officer_id,
lat, lon, occurred_at, last_occurred_at, occurrences, evidence_ids, snapshot_sha256}}`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection
from typing import Any

from fastapi import APIRouter, WebSocket
from sqlalchemy import select

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import visible_filter
from citywitness.alerts.kinds import OPEN
from citywitness.alerts.live import AlertHub, AlertSubscriber
from citywitness.alerts.models import Alert
from citywitness.alerts.service import ALERT, summary
from citywitness.api.deps import until_closed, websocket_principal
from citywitness.audit.service import Auditor
from citywitness.kit.db import Database
from citywitness.settings import Settings

router = APIRouter()

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
HUB_KEY = "alert_hub"
SNAPSHOT_LIMIT = 500


async def _open_alerts(
    db: Database, principal: Principal, departments: Collection[uuid.UUID] | None
) -> list[dict[str, Any]]:
    query = (
        select(Alert)
        .where(
            visible_filter(
                principal, Permission.ALERTS_READ, department_column=Alert.department_id
            ),
            Alert.state.in_([s.value for s in OPEN]),
        )
        .order_by(Alert.occurred_at.desc(), Alert.id.desc())
        .limit(SNAPSHOT_LIMIT)
    )
    async with db.transaction() as session:
        rows = list((await session.execute(query)).scalars())
        await Auditor(session=session, actor=principal).record(
            "alerts.live_subscribe",
            object_type=ALERT,
            details={
                "departments": "all" if departments is None else sorted(map(str, departments)),
                "open": len(rows),
            },
        )
    return [summary(a, "open")["alert"] for a in rows]


def _hub(websocket: WebSocket, db: Database) -> AlertHub:
    hub: AlertHub | None = getattr(websocket.app.state, HUB_KEY, None)
    if hub is None:
        hub = AlertHub(db.url)
        setattr(websocket.app.state, HUB_KEY, hub)
    return hub


async def _pump(websocket: WebSocket, subscriber: AlertSubscriber) -> None:
    while True:
        await websocket.send_json(await subscriber.queue.get())


@router.websocket("/ws/alerts")
async def alerts_socket(websocket: WebSocket) -> None:
    db: Database = websocket.app.state.db
    settings: Settings = websocket.app.state.settings
    principal = await websocket_principal(websocket, db, settings)
    if principal is None or not principal.has_anywhere(Permission.ALERTS_READ):
        await websocket.close(code=POLICY_VIOLATION)
        return
    departments = principal.departments_with(Permission.ALERTS_READ)
    hub = _hub(websocket, db)
    subscriber = AlertSubscriber(departments=departments)
    await websocket.accept()
    await hub.subscribe(subscriber)  # LISTEN first, then the snapshot: nothing falls between
    try:
        await websocket.send_json(
            {"type": "hello", "open": await _open_alerts(db, principal, departments)}
        )
        feed_lost = asyncio.create_task(hub.stopped())
        tasks = [
            asyncio.create_task(_pump(websocket, subscriber)),
            asyncio.create_task(until_closed(websocket)),
            feed_lost,
        ]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if feed_lost.done() and not feed_lost.cancelled():
            await websocket.close(code=TRY_AGAIN_LATER)
    finally:
        await hub.unsubscribe(subscriber)
