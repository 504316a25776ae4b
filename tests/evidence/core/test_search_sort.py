"""GET /evidence `sort`: capture time or ingest time, keyset pages over every boundary (scope
parts, items without a capture time), cursors bound to their sort, capture windows."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from citywitness.access.levels import Classification, Role
from citywitness.access.models import Grant
from citywitness.evidence import search
from citywitness.evidence.models import EvidenceItem, EvidenceKind, EvidenceState, IngestChannel
from citywitness.kit.cursor import encode_cursor
from citywitness.kit.db import Database
from tests.evidence.core.helpers import audit_events
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
CREATED = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
PS, TP = PUBLIC_SECURITY, TRAFFIC_POLICE

# name: department, capture start and end (hours after T0; None: no capture time).
# Rows are created in this order, a minute apart; ids rise in this order too, so ties on
# capture time ("a" and "c") and items without one ("d", "f") are ordered by id.
ITEMS: dict[str, tuple[uuid.UUID, float | None, float | None]] = {
    "a": (PS, 10, None),
    "b": (PS, 2, 30),  # a long capture: starts 7 h before the window [9, 13] yet overlaps it
    "c": (PS, 10, None),
    "d": (PS, None, None),
    "e": (PS, 5, 6),
    "f": (PS, None, None),
    "g": (PS, 40, None),
    "x": (TP, 15, None),  # granted to the reader
    "y": (TP, 16, None),  # a revoked grant
    "z": (PS, 12, None),  # in the reader's department and granted too: listed once
    "s": (PS, 11, None),  # secret: above the reader's clearance
}
CAPTURED_ORDER = ["g", "x", "z", "c", "a", "e", "b", "f", "d"]
CREATED_ORDER = ["z", "x", "g", "f", "e", "d", "c", "b", "a"]


def _at(hours: float | None) -> datetime | None:
    return None if hours is None else T0 + timedelta(hours=hours)


def _row(index: int, name: str) -> EvidenceItem:
    department, start, end = ITEMS[name]
    return EvidenceItem(
        id=uuid.UUID(f"00000000-0000-4000-8000-{index + 1:012d}"),
        created_at=CREATED + timedelta(minutes=index),
        kind=EvidenceKind.VIDEO,
        state=EvidenceState.ACTIVE,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        size_bytes=1,
        original_filename=f"{name}.mp4",
        media_type="video/mp4",
        captured_start=_at(start),
        captured_end=_at(end),
        department_id=department,
        tags=[],
        notes="",
        classification=3 if name == "s" else 1,
        media_facts={},
        ingest_channel=IngestChannel.DOCK,
    )


def _grant(name: str, actor: Actor, *, revoked: bool = False) -> Grant:
    return Grant(
        object_type="evidence",
        object_id=_row(list(ITEMS).index(name), name).id,
        permission="evidence:read",
        grantee_user_id=actor.user.id,
        granted_by=actor.user.id,
        reason="joint operation",
        revoked_at=CREATED if revoked else None,
    )


@pytest.fixture
async def reader(db: Database) -> Actor:
    """An officer of PUBLIC_SECURITY (internal clearance) with grants on "x", "z" (live)
    and "y" (revoked); the items of ITEMS."""
    actor = await make_actor(db, roles={PS: [Role.OFFICER]}, clearance=Classification.SENSITIVE)
    async with db.transaction() as session:
        session.add_all([_row(i, name) for i, name in enumerate(ITEMS)])
        await session.flush()
        session.add_all([_grant("x", actor), _grant("z", actor), _grant("y", actor, revoked=True)])
    return actor


def _names(body: dict[str, Any]) -> list[str]:
    by_id = {str(_row(i, n).id): n for i, n in enumerate(ITEMS)}
    return [by_id[item["id"]] for item in body["items"]]


async def _page(
    client: httpx.AsyncClient, actor: Actor, **params: Any
) -> tuple[list[str], str | None]:
    response = await client.get("/api/v1/evidence", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return _names(body), body["next_cursor"]


async def _all_pages(
    client: httpx.AsyncClient, actor: Actor, limit: int, **params: Any
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        extra: dict[str, str] = {"cursor": cursor} if cursor else {}
        names, cursor = await _page(client, actor, limit=limit, **params, **extra)
        pages.append(names)
        if cursor is None or len(pages) > 20:
            return pages


@pytest.mark.parametrize("limit", range(1, 11))
@pytest.mark.parametrize(
    ("sort", "expected"), [("captured", CAPTURED_ORDER), ("created", CREATED_ORDER)]
)
async def test_pages_list_everything_once_in_order(
    *,
    db: Database,
    client: httpx.AsyncClient,
    reader: Actor,
    sort: str,
    expected: list[str],
    limit: int,
) -> None:
    pages = await _all_pages(client, reader, limit, sort=sort)
    assert [name for page in pages for name in page] == expected
    assert all(len(page) == limit for page in pages[:-1])
    # The last page is full only when the items end exactly at a page boundary: one
    # more (empty) page is not asked for, since the server looked one item ahead.
    assert len(pages) == -(-len(expected) // limit)
    assert len(await audit_events(db, "evidence.search")) == len(pages)


async def test_the_exact_pages_across_the_undated_boundary(
    client: httpx.AsyncClient, reader: Actor
) -> None:
    pages = await _all_pages(client, reader, 2, sort="captured")
    assert pages == [["g", "x"], ["z", "c"], ["a", "e"], ["b", "f"], ["d"]]
    pages = await _all_pages(client, reader, 7, sort="captured")
    assert pages == [["g", "x", "z", "c", "a", "e", "b"], ["f", "d"]]


async def test_default_sort_is_capture_time_with_a_window_else_ingest_time(
    client: httpx.AsyncClient, reader: Actor
) -> None:
    assert (await _page(client, reader))[0] == CREATED_ORDER
    window = {"captured_from": _iso(9), "captured_to": _iso(13)}
    assert (await _page(client, reader, **window))[0] == ["z", "c", "a", "b"]
    assert (await _page(client, reader, sort="created", **window))[0] == ["z", "c", "b", "a"]
    since = {"captured_from": _iso(14)}  # no end: items without a capture time drop out
    assert (await _page(client, reader, **since))[0] == ["g", "x", "b"]


def _iso(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ((20, 25), ["b"]),  # only the long capture overlaps
        ((30, 30), ["b"]),  # touching its end
        ((6, 9), ["e", "b"]),  # touching e's end
        ((0, 1), []),
        ((41, 50), []),
        ((40, 40), ["g"]),
    ],
)
async def test_capture_window_is_an_overlap_in_both_sorts(
    client: httpx.AsyncClient, reader: Actor, window: tuple[float, float], expected: list[str]
) -> None:
    params = {"captured_from": _iso(window[0]), "captured_to": _iso(window[1])}
    assert (await _page(client, reader, sort="captured", **params))[0] == expected
    created = [n for n in CREATED_ORDER if n in expected]
    assert (await _page(client, reader, sort="created", **params))[0] == created


async def test_window_pages_continue_after_the_cursor(
    client: httpx.AsyncClient, reader: Actor
) -> None:
    params = {"captured_from": _iso(9), "captured_to": _iso(13)}
    assert await _all_pages(client, reader, 1, **params) == [["z"], ["c"], ["a"], ["b"]]


@pytest.mark.parametrize("max_parts", [search.MAX_SCOPE_PARTS, 1])
async def test_departments_and_grants_merge_in_order(
    *,
    db: Database,
    client: httpx.AsyncClient,
    reader: Actor,
    max_parts: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # max_parts 1: the scope parts are OR-ed into one clause (a caller in many departments).
    monkeypatch.setattr(search, "MAX_SCOPE_PARTS", max_parts)
    both = await make_actor(db, roles={PS: [Role.OFFICER], TP: [Role.OFFICER]})
    expected = ["g", "y", "x", "z", "s", "c", "a", "e", "b", "f", "d"]
    pages = await _all_pages(client, both, 3, sort="captured")
    assert [name for page in pages for name in page] == expected
    other = await make_actor(db, roles={TP: [Role.OFFICER]})
    assert (await _page(client, other, sort="captured"))[0] == ["y", "x"]


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor(["created", CREATED.isoformat(), str(uuid.uuid4())]),  # other sort
        encode_cursor(["captured", "yesterday", str(uuid.uuid4())]),
        encode_cursor(["captured", "2026-03-01T08:00:00", str(uuid.uuid4())]),  # naive
        encode_cursor(["captured", T0.isoformat(), "not-an-id"]),
        encode_cursor(["name", T0.isoformat(), str(uuid.uuid4())]),
        encode_cursor([T0.isoformat(), str(uuid.uuid4())]),  # the shape of another list
        "garbage!",
    ],
)
async def test_a_cursor_of_another_sort_or_shape_is_refused(
    client: httpx.AsyncClient, reader: Actor, cursor: str
) -> None:
    response = await client.get(
        "/api/v1/evidence",
        params={"sort": "captured", "cursor": cursor},
        headers=reader.headers,
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_cursor")


async def test_a_cursor_follows_its_sort_only(client: httpx.AsyncClient, reader: Actor) -> None:
    _, captured = await _page(client, reader, sort="captured", limit=2)
    _, created = await _page(client, reader, limit=2)
    assert captured is not None and created is not None
    for sort, cursor in (("created", captured), ("captured", created)):
        params = {"sort": sort, "cursor": cursor}
        response = await client.get("/api/v1/evidence", params=params, headers=reader.headers)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_cursor")
    # Without `sort`, the default of the filters decides: a window makes it `captured`.
    window = {"captured_from": _iso(0), "captured_to": _iso(50)}
    response = await client.get(
        "/api/v1/evidence", params={"cursor": created, **window}, headers=reader.headers
    )
    assert response.status_code == 400
    names, _ = await _page(client, reader, cursor=captured, limit=2, **window)
    assert names == ["z", "c"]


async def test_an_unknown_sort_is_a_validation_error(
    client: httpx.AsyncClient, reader: Actor
) -> None:
    response = await client.get("/api/v1/evidence", params={"sort": "name"}, headers=reader.headers)
    assert (response.status_code, response.json()["error"]) == (422, "validation_failed")
