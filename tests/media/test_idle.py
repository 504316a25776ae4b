"""Sessions whose recorder went silent are ended and sealed by the periodic job."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import update

from citywitness.evidence.models import EvidenceItem
from citywitness.evidence.runtime import register_store
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.media.models import LiveSession
from citywitness.media.seal import referenced_shas
from citywitness.media.tasks import seal_idle
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.devices.helpers import make_enrolled
from tests.media.helpers import Pieces, open_session, send_all, sha


async def test_idle_sessions_are_sealed(
    db: Database, client: httpx.AsyncClient, settings: Settings, store: ContentStore, ts: Pieces
) -> None:
    register_store(db, store)
    device = await make_enrolled(db)
    quiet = await open_session(client, device, ts)
    await send_all(client, device, quiet, Pieces(ts.fmt, None, ts.segments[:2]))
    busy = await open_session(client, device, ts)
    idle_for = timedelta(seconds=settings.media.session_idle_seconds + 1)
    async with db.transaction() as session:
        await session.execute(
            update(LiveSession)
            .where(LiveSession.id == uuid.UUID(quiet["id"]))
            .values(last_segment_at=utcnow() - idle_for)
        )
    assert await seal_idle(db, settings, batch=10) == {"sealed": 1, "failed": 0}
    async with db.transaction() as session:
        sealed = await session.get(LiveSession, uuid.UUID(quiet["id"]))
        still = await session.get(LiveSession, uuid.UUID(busy["id"]))
        item = await session.get(EvidenceItem, uuid.UUID(quiet["evidence_id"]))
    assert sealed is not None and still is not None and item is not None
    assert (sealed.state, sealed.end_reason, still.state) == ("sealed", "timeout", "live")
    assert item.sha256 == sha(ts.segments[0] + ts.segments[1])
    assert await seal_idle(db, settings, batch=10) == {"sealed": 0, "failed": 0}


async def test_segments_of_unsealed_sessions_are_kept_from_the_sweep(
    db: Database, client: httpx.AsyncClient, fmp4: Pieces
) -> None:
    device = await make_enrolled(db)
    opened = await open_session(client, device, fmp4)
    await send_all(client, device, opened, Pieces(fmp4.fmt, fmp4.init, fmp4.segments[:2]))
    assert fmp4.init is not None
    asked = [sha(fmp4.init), sha(fmp4.segments[0]), sha(fmp4.segments[1]), "00" * 32]
    async with db.transaction() as session:
        assert await referenced_shas(session, asked) == set(asked[:3])
    ended = await client.post(
        f"/api/v1/devices/self/sessions/{opened['id']}/end", headers=device.headers
    )
    assert ended.json()["state"] == "sealed"
    async with db.transaction() as session:
        assert await referenced_shas(session, asked) == set()
