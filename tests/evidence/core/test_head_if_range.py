"""HEAD on content and proxy (headers only, audited as evidence.read) and If-Range."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.evidence.derivative_models import Derivative
from citywitness.evidence.models import EvidenceItem
from citywitness.evidence.tasks import build_derivatives
from citywitness.kit.db import Database
from citywitness.settings import EvidenceSettings
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import audit_events, register
from tests.evidence.core.samples import make_mp4
from tests.factories import PUBLIC_SECURITY, make_actor

OFFICER = {PUBLIC_SECURITY: [Role.OFFICER]}


@pytest.fixture
async def video(db: Database, store: ContentStore) -> tuple[EvidenceItem, bytes]:
    """A 1 s video of PUBLIC_SECURITY (whose seeded policy requires a reason to play)."""
    data = make_mp4(1.0, width=64, height=48, audio=False)
    return (await register(db, store, data)).item, data


def _url(item: EvidenceItem, what: str = "content") -> str:
    return f"/api/v1/evidence/{item.id}/{what}"


async def test_head_sends_the_headers_without_a_body_and_audits_a_read(
    db: Database, client: httpx.AsyncClient, video: tuple[EvidenceItem, bytes]
) -> None:
    item, data = video
    actor = await make_actor(db, roles=OFFICER)
    response = await client.head(_url(item), headers=actor.headers)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == item.media_type
    assert response.headers["etag"] == f'"{item.sha256}"'
    assert await audit_events(db, "evidence.play") == []
    [event] = await audit_events(db, "evidence.read")
    assert event.object_id == str(item.id)
    assert event.details == {"range": None, "bytes": len(data), "head": "evidence.play"}


async def test_head_with_a_range(
    db: Database, client: httpx.AsyncClient, video: tuple[EvidenceItem, bytes]
) -> None:
    item, data = video
    actor = await make_actor(db, roles=OFFICER)
    headers = {**actor.headers, "Range": "bytes=0-99"}
    response = await client.head(_url(item), headers=headers)
    assert response.status_code == 206
    assert response.content == b""
    assert response.headers["content-length"] == "100"
    assert response.headers["content-range"] == f"bytes 0-99/{len(data)}"


async def test_if_range_with_the_etag_honours_the_range(
    db: Database, client: httpx.AsyncClient, video: tuple[EvidenceItem, bytes]
) -> None:
    item, data = video
    actor = await make_actor(db, roles=OFFICER)
    headers = {**actor.headers, "Range": "bytes=10-19", "If-Range": f'"{item.sha256}"'}
    response = await client.get(_url(item), headers=headers, params={"reason": "review"})
    assert response.status_code == 206
    assert response.content == data[10:20]


@pytest.mark.parametrize(
    "if_range", ['"0000"', 'W/"{sha}"', "Wed, 21 Oct 2026 07:28:00 GMT"], ids=str
)
async def test_if_range_with_anything_else_sends_the_whole_content(
    db: Database, client: httpx.AsyncClient, video: tuple[EvidenceItem, bytes], if_range: str
) -> None:
    item, data = video
    actor = await make_actor(db, roles=OFFICER)
    value = if_range.replace("{sha}", item.sha256)
    headers = {**actor.headers, "Range": "bytes=10-19", "If-Range": value}
    response = await client.get(_url(item), headers=headers, params={"reason": "review"})
    assert response.status_code == 200
    assert response.content == data
    assert "content-range" not in response.headers
    [event] = await audit_events(db, "evidence.play")
    assert event.details == {"range": None, "bytes": len(data)}


async def test_head_and_if_range_on_the_proxy(
    db: Database, store: ContentStore, client: httpx.AsyncClient, video: tuple[EvidenceItem, bytes]
) -> None:
    item, _ = video
    await build_derivatives(db, store, EvidenceSettings(), item.id)
    async with db.transaction() as session:
        proxy = await session.scalar(
            select(Derivative).where(Derivative.evidence_id == item.id, Derivative.kind == "proxy")
        )
    assert proxy is not None
    actor = await make_actor(db, roles=OFFICER)
    response = await client.head(_url(item, "proxy"), headers=actor.headers)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(proxy.size_bytes)
    assert response.headers["etag"] == f'"{proxy.sha256}"'
    assert response.headers["content-type"] == "video/mp4"
    [event] = await audit_events(db, "evidence.read")
    assert event.details == {
        "range": None,
        "bytes": proxy.size_bytes,
        "derivative": "proxy",
        "head": "evidence.play",
    }
    headers = {**actor.headers, "Range": "bytes=0-9", "If-Range": f'"{item.sha256}"'}
    response = await client.get(_url(item, "proxy"), headers=headers, params={"reason": "r"})
    assert response.status_code == 200  # the original's ETag is not the proxy's
    assert len(response.content) == proxy.size_bytes
