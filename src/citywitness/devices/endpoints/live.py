"""Console WebSocket: /api/v1/ws/devices pushes the latest state of recorders in scope.

Authentication: `Authorization: Bearer <token>`, an `access_token` query parameter (for
browsers, which cannot set headers on a WebSocket), or the console session cookie, in
which case the `Origin` must be the platform's own (`server.public_url`), against
cross-site WebSocket hijacking.  The caller needs devices:read; only recorders of the
departments where it is held are pushed.  On connect: a snapshot of every recorder in
scope, then one message per state change, at most one per recorder per second:
`{"type": "state", "state": {recorder_id, department_id, serial, online, ...}}`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Collection

import psycopg
from fastapi import APIRouter, WebSocket
from sqlalchemy import select

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import visible_filter
from citywitness.api.deps import until_closed, websocket_principal
from citywitness.audit.service import Auditor
from citywitness.devices.live import StateHub, Subscriber
from citywitness.devices.models import STATE_TABLE, Recorder
from citywitness.devices.service import RECORDER
from citywitness.devices.state import PUBLIC_FIELDS, state_json
from citywitness.kit.db import Database
from citywitness.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter()

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
HUB_KEY = "device_state_hub"


async def _snapshot(
    db: Database, principal: Principal, departments: Collection[uuid.UUID] | None
) -> list[str]:
    """The current state of every recorder in scope, as pushed (JSON), and an audit event."""
    query = (
        select(Recorder.id, Recorder.department_id, Recorder.serial, STATE_TABLE)
        .join(STATE_TABLE, STATE_TABLE.c.recorder_id == Recorder.id)
        .where(
            visible_filter(
                principal, Permission.DEVICES_READ, department_column=Recorder.department_id
            ),
            STATE_TABLE.c.last_seen_at.is_not(None),
        )
        .order_by(Recorder.serial)
    )
    async with db.transaction() as session:
        rows = (await session.execute(query)).mappings().all()
        auditor = Auditor(session=session, actor=principal)
        await auditor.record(
            "devices.live_subscribe",
            object_type=RECORDER,
            details={
                "departments": "all"
                if departments is None
                else sorted(str(d) for d in departments),
                "count": len(rows),
            },
        )
    return [
        state_json(r["id"], r["department_id"], r["serial"], {f: r[f] for f in PUBLIC_FIELDS})
        for r in rows
    ]


def _hub(websocket: WebSocket, db: Database) -> StateHub:
    hub: StateHub | None = getattr(websocket.app.state, HUB_KEY, None)
    if hub is None:
        hub = StateHub(db.url)
        setattr(websocket.app.state, HUB_KEY, hub)
    return hub


async def _pump(websocket: WebSocket, subscriber: Subscriber) -> None:
    while True:
        state = await subscriber.queue.get()
        await websocket.send_json({"type": "state", "state": state})


@router.websocket("/ws/devices")
async def devices_socket(websocket: WebSocket) -> None:
    db: Database = websocket.app.state.db
    settings: Settings = websocket.app.state.settings
    principal = await websocket_principal(websocket, db, settings)
    if principal is None or not principal.has_anywhere(Permission.DEVICES_READ):
        await websocket.close(code=POLICY_VIOLATION)
        return
    departments = principal.departments_with(Permission.DEVICES_READ)
    hub = _hub(websocket, db)
    subscriber = Subscriber(
        departments=departments, min_interval=settings.devices.state_write_interval_seconds
    )
    await websocket.accept()
    try:
        await hub.subscribe(subscriber)  # LISTEN first, then the snapshot: nothing between
    except (psycopg.Error, OSError):
        log.warning("device state feed unavailable", exc_info=True)
        await websocket.close(code=TRY_AGAIN_LATER)
        return
    try:
        for payload in await _snapshot(db, principal, departments):
            await websocket.send_text(f'{{"type":"state","state":{payload}}}')
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
