"""Export packages over the API: request (items or a search), the build job (run here
synchronously, as a worker would), status, audited download with ranges, offline
verification of what was downloaded, discard, expiry, idempotent reruns and refusals."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update

from citywitness.access.levels import Role
from citywitness.app import create_app
from citywitness.evidence.export_models import Export
from citywitness.evidence.exports_build import build_export, build_root, clean_exports
from citywitness.evidence.exports_tasks import RUNS
from citywitness.evidence.ingest import referenced_shas
from citywitness.identity.models import User
from citywitness.kit.db import Database
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.verify_package import verify_package
from citywitness.ledger.verify_trust import Trust
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import audit_events, make_item, make_store
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

INVESTIGATOR = {PUBLIC_SECURITY: [Role.INVESTIGATOR]}
REASON = "court request 2026-17"


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path / "store")


@pytest.fixture
def app(settings: Settings, db: Database, store: ContentStore) -> FastAPI:
    application = create_app(settings, db)
    application.state.content_store = store
    return application


async def _request(client: httpx.AsyncClient, actor: Actor, body: dict[str, Any]) -> Any:
    response = await client.post("/api/v1/exports", json=body, headers=actor.headers)
    assert response.status_code == 202, response.text
    return response.json()


async def _build(db: Database, settings: Settings, store: ContentStore, export_id: str) -> str:
    return await build_export(db, settings, store, uuid.UUID(export_id), runs=RUNS)


def _trust(settings: Settings, folder: Path) -> Trust:
    (folder / "log.vkey").write_text(log_vkey(settings) + "\n")
    (folder / "root.pem").write_bytes((settings.data_dir / "keys/c2pa/ca.pem").read_bytes())
    return Trust.from_files([folder / "log.vkey", folder / "root.pem"])


async def test_export_is_built_by_the_job_and_the_download_verifies_offline(
    db: Database,
    settings: Settings,
    store: ContentStore,
    client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    items = [await make_item(db, store), await make_item(db, store)]
    actor = await make_actor(db, roles=INVESTIGATOR)
    body = {"items": [str(i.id) for i in items], "reason": REASON}

    created = await _request(client, actor, body)

    assert (created["status"], created["item_count"]) == ("queued", 2)
    assert created["items"] == [str(i.id) for i in items]
    url = f"/api/v1/exports/{created['id']}"
    async with db.transaction() as session:
        job = (
            await session.execute(
                text("SELECT task_name, queue_name, args FROM procrastinate_jobs WHERE id = :id"),
                {"id": (await session.get(Export, uuid.UUID(created["id"]))).job_id},  # type: ignore[union-attr]
            )
        ).one()
    assert tuple(job) == ("evidence_exports:build_export", "cpu", {"export_id": created["id"]})
    early = await client.get(f"{url}/package", headers=actor.headers)
    assert (early.status_code, early.json()["error"]) == (409, "export_not_ready")

    assert await _build(db, settings, store, created["id"]) == "done"
    assert await _build(db, settings, store, created["id"]) == "unchanged"

    done = (await client.get(url, headers=actor.headers)).json()
    assert done["status"] == "done" and done["error"] is None
    assert not (build_root(settings) / created["id"]).exists()
    package = await client.get(f"{url}/package", headers=actor.headers)
    assert package.status_code == 200
    assert package.headers["content-type"] == "application/zip"
    assert hashlib.sha256(package.content).hexdigest() == done["package_sha256"]
    assert len(package.content) == done["package_size"]
    (tmp_path / "package.zip").write_bytes(package.content)
    report = verify_package(tmp_path / "package.zip", _trust(settings, tmp_path))
    assert report.failures() == []
    part = await client.get(f"{url}/package", headers={**actor.headers, "Range": "bytes=10-19"})
    assert (part.status_code, part.content) == (206, package.content[10:20])
    assert part.headers["content-range"] == f"bytes 10-19/{done['package_size']}"
    downloads = await audit_events(db, "evidence.export.download")
    assert [(e.object_id, e.details["range"]) for e in downloads] == [
        (created["id"], None),
        (created["id"], "10-19"),
    ]
    exported = await audit_events(db, "evidence.exported")
    assert sorted(e.object_id for e in exported) == sorted(str(i.id) for i in items)
    assert {e.details["export"] for e in exported} == {created["id"]}
    listed = (await client.get("/api/v1/exports", headers=actor.headers)).json()
    assert [e["id"] for e in listed["items"]] == [created["id"]]


async def test_a_query_exports_what_the_search_finds(
    db: Database, settings: Settings, store: ContentStore, client: httpx.AsyncClient
) -> None:
    wanted = await make_item(db, store, tags=["night-patrol"])
    await make_item(db, store, tags=["day-shift"])
    actor = await make_actor(db, roles=INVESTIGATOR)
    query = {"tag": ["night-patrol"], "department_id": str(PUBLIC_SECURITY)}

    created = await _request(client, actor, {"query": query, "reason": REASON})

    assert created["items"] == [str(wanted.id)]
    assert created["query"] == query
    assert await _build(db, settings, store, created["id"]) == "done"
    searches = await audit_events(db, "evidence.search")
    assert searches[-1].details["filters"]["tags"] == ["night-patrol"]


async def test_an_export_over_the_limit_is_refused(
    db: Database, settings: Settings, store: ContentStore, app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.state.settings = settings.model_copy(
        update={"exports": settings.exports.model_copy(update={"max_items": 1})}
    )
    for _ in range(2):
        await make_item(db, store, tags=["bulk"])
    actor = await make_actor(db, roles=INVESTIGATOR)
    response = await client.post(
        "/api/v1/exports", json={"query": {"tag": ["bulk"]}, "reason": "x"}, headers=actor.headers
    )
    assert (response.status_code, response.json()["error"]) == (422, "export_too_large")


async def test_other_department_gets_404_and_nothing_is_recorded(
    db: Database, settings: Settings, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    owner = await make_actor(db, roles=INVESTIGATOR)
    stranger = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})

    refused = await client.post(
        "/api/v1/exports",
        json={"items": [str(item.id)], "reason": REASON},
        headers=stranger.headers,
    )

    assert (refused.status_code, refused.json()["error"]) == (404, "not_found")
    assert await audit_events(db, "evidence.exported") == []
    created = await _request(client, owner, {"items": [str(item.id)], "reason": REASON})
    for method, suffix in (("GET", ""), ("GET", "/package"), ("DELETE", "")):
        response = await client.request(
            method, f"/api/v1/exports/{created['id']}{suffix}", headers=stranger.headers
        )
        assert response.status_code == 404, (method, suffix)
    listed = await client.get("/api/v1/exports", headers=stranger.headers)
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        ({"items": ["00000000-0000-0000-0000-000000000001"]}, "validation_failed", "reason"),
        ({"items": [], "reason": "x"}, "validation_failed", "items"),
        ({"reason": "x"}, "validation_failed", None),
        ({"items": ["00000000-0000-0000-0000-000000000001"], "query": {}, "reason": "x"},
         "validation_failed", None),
        ({"query": {"lat": 30.0}, "reason": "x"}, "invalid_search", "radius_m"),
        ({"query": {"bbox": "1,2"}, "reason": "x"}, "invalid_search", "bbox"),
        ({"query": {"colour": "red"}, "reason": "x"}, "validation_failed", None),
        ({"items": ["00000000-0000-0000-0000-000000000001"], "reason": "  "},
         "export_reason_required", "reason"),
    ],
)  # fmt: skip
async def test_bad_requests_are_422(
    db: Database, client: httpx.AsyncClient, body: dict[str, Any], error: str, field: str | None
) -> None:
    actor = await make_actor(db, roles=INVESTIGATOR)
    response = await client.post("/api/v1/exports", json=body, headers=actor.headers)
    assert (response.status_code, response.json()["error"]) == (422, error), response.text
    if field is not None:
        assert field in str(response.json()["fields"])


async def test_discard_shreds_the_package(
    db: Database, settings: Settings, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    actor = await make_actor(db, roles=INVESTIGATOR)
    created = await _request(client, actor, {"items": [str(item.id)], "reason": REASON})
    await _build(db, settings, store, created["id"])
    url = f"/api/v1/exports/{created['id']}"
    sha = (await client.get(url, headers=actor.headers)).json()["package_sha256"]

    assert (await client.delete(url, headers=actor.headers)).status_code == 204

    assert not await store.exists(sha)
    assert (await client.get(url, headers=actor.headers)).json()["status"] == "discarded"
    gone = await client.get(f"{url}/package", headers=actor.headers)
    assert (gone.status_code, gone.json()["error"]) == (410, "export_gone")
    again = await client.delete(url, headers=actor.headers)
    assert (again.status_code, again.json()["error"]) == (410, "export_gone")
    assert len(await audit_events(db, "evidence.export.discard")) == 1


async def test_expired_packages_are_shredded_by_the_cleanup(
    db: Database, settings: Settings, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    actor = await make_actor(db, roles=INVESTIGATOR)
    created = await _request(client, actor, {"items": [str(item.id)], "reason": REASON})
    await _build(db, settings, store, created["id"])
    async with db.transaction() as session:
        export = await session.get(Export, uuid.UUID(created["id"]))
        assert export is not None and export.expires_at is not None
        assert export.expires_at - export.finished_at == timedelta(hours=72)  # type: ignore[operator]
        expires_at, sha = export.expires_at, export.package_sha256
    stale = build_root(settings) / str(uuid.uuid4())
    stale.mkdir(parents=True)
    (stale / "package.zip").write_bytes(b"plaintext left by a crash")

    early = await clean_exports(db, store, settings, now=expires_at - timedelta(seconds=1))
    assert early == {"expired": 0, "abandoned": 0, "folders_removed": 1}
    assert not stale.exists()
    late = await clean_exports(db, store, settings, now=expires_at + timedelta(seconds=1))

    assert late == {"expired": 1, "abandoned": 0, "folders_removed": 0}
    assert sha is not None and not await store.exists(sha)
    url = f"/api/v1/exports/{created['id']}"
    assert (await client.get(url, headers=actor.headers)).json()["status"] == "expired"
    gone = await client.get(f"{url}/package", headers=actor.headers)
    assert (gone.status_code, gone.json()["error"]) == (410, "export_gone")


async def test_a_crashed_run_is_rerun_cleanly_and_makes_one_package(
    db: Database, settings: Settings, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    actor = await make_actor(db, roles=INVESTIGATOR)
    created = await _request(client, actor, {"items": [str(item.id)], "reason": REASON})
    export_id = uuid.UUID(created["id"])
    async with db.transaction() as session:  # a first run died mid-write
        await session.execute(
            update(Export).where(Export.id == export_id).values(status="running", attempts=1)
        )
    leftover = build_root(settings) / created["id"]
    leftover.mkdir(parents=True)
    (leftover / "package.zip").write_bytes(b"half a package")

    assert await _build(db, settings, store, created["id"]) == "done"

    assert not leftover.exists()
    async with db.transaction() as session:
        export = await session.get(Export, export_id)
        assert export is not None and export.attempts == 2
        assert export.package_sha256 is not None
        assert await store.exists(export.package_sha256)


async def test_the_job_fails_the_export_when_the_requester_lost_the_right(
    db: Database, settings: Settings, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    actor = await make_actor(db, roles=INVESTIGATOR)
    created = await _request(client, actor, {"items": [str(item.id)], "reason": REASON})
    async with db.transaction() as session:
        await session.execute(update(User).where(User.id == actor.user.id).values(is_active=False))

    assert await _build(db, settings, store, created["id"]) == "failed"

    async with db.transaction() as session:
        export = await session.scalar(select(Export).where(Export.id == uuid.UUID(created["id"])))
        assert export is not None
        assert (export.status, export.error_code) == ("failed", "export_not_permitted")
        assert export.package_sha256 is None


async def test_if_range_and_a_package_shredded_outside_its_life(
    db: Database, settings: Settings, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    actor = await make_actor(db, roles=INVESTIGATOR)
    created = await _request(client, actor, {"items": [str(item.id)], "reason": REASON})
    await _build(db, settings, store, created["id"])
    url = f"/api/v1/exports/{created['id']}/package"
    sha = (await client.get(f"/api/v1/exports/{created['id']}", headers=actor.headers)).json()[
        "package_sha256"
    ]
    ranged = {**actor.headers, "Range": "bytes=0-3"}

    same = await client.get(url, headers={**ranged, "If-Range": f'"{sha}"'})
    other = await client.get(url, headers={**ranged, "If-Range": '"another"'})

    assert (same.status_code, same.content) == (206, b"PK\x03\x04")
    assert other.status_code == 200
    assert hashlib.sha256(other.content).hexdigest() == sha
    await store.destroy(sha)  # e.g. a storage sweep that does not know the package
    gone = await client.get(url, headers=actor.headers)
    assert (gone.status_code, gone.json()["error"]) == (410, "export_gone")


async def test_the_storage_sweep_counts_a_finished_package_as_referenced(
    db: Database, settings: Settings, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store)
    actor = await make_actor(db, roles=INVESTIGATOR)
    created = await _request(client, actor, {"items": [str(item.id)], "reason": REASON})
    await _build(db, settings, store, created["id"])
    url = f"/api/v1/exports/{created['id']}"
    sha = (await client.get(url, headers=actor.headers)).json()["package_sha256"]
    unknown = "0" * 64

    async with db.transaction() as session:
        live = await referenced_shas(session, [sha, item.sha256, unknown])
    await client.delete(url, headers=actor.headers)
    async with db.transaction() as session:
        discarded = await referenced_shas(session, [sha, item.sha256])

    assert live == {sha, item.sha256}
    assert discarded == {item.sha256}
