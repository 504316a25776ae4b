"""The console's API (map set-up, base map) and how the API serves the built console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from citywitness.access.levels import Role
from citywitness.app import create_app
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.settings.sections import ConsoleSettings
from tests.factories import TRAFFIC_POLICE, make_actor

STREETS = b'{"type":"FeatureCollection","features":[]}'


def _settings(settings: Settings, **console: object) -> Settings:
    return settings.model_copy(update={"console": ConsoleSettings.model_validate(console)})


async def _client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def build(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>console</title>")
    (root / "assets" / "index-abc123.js").write_text("console.log(1)")
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


async def test_config_offers_the_tile_server_first_then_the_streets_then_nothing(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    operator = await make_actor(db, roles={TRAFFIC_POLICE: [Role.OPERATOR]})
    streets = tmp_path / "city.geojson"
    cases = [
        (
            {"tile_url": "https://tiles.city.example/{z}/{x}/{y}.png", "tile_attribution": "City"},
            {
                "kind": "tiles",
                "url": "https://tiles.city.example/{z}/{x}/{y}.png",
                "attribution": "City",
            },
        ),
        (
            {"basemap_geojson": str(streets)},
            {"kind": "geojson", "url": "/api/v1/console/basemap", "attribution": "CityWitness"},
        ),
        ({}, {"kind": "none", "url": None, "attribution": ""}),
    ]
    for console, basemap in cases:
        async for client in _client(_settings(settings, zoom=12, **console), db):
            answer = await client.get("/api/v1/console/config", headers=operator.headers)
            assert answer.status_code == 200
            body = answer.json()
            assert body["basemap"] == basemap
            assert body["center"] == [31.23, 121.47]
            assert body["zoom"] == 12
            assert body["languages"] == ["en", "zh-CN"]


async def test_the_base_map_is_served_once_written(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    operator = await make_actor(db, roles={TRAFFIC_POLICE: [Role.OPERATOR]})
    streets = tmp_path / "city.geojson"
    async for client in _client(_settings(settings, basemap_geojson=str(streets)), db):
        missing = await client.get("/api/v1/console/basemap", headers=operator.headers)
        assert missing.status_code == 404
        assert missing.json()["error"] == "basemap_not_available"
        streets.write_bytes(STREETS)
        found = await client.get("/api/v1/console/basemap", headers=operator.headers)
        assert found.status_code == 200
        assert found.headers["content-type"] == "application/geo+json"
        assert found.content == STREETS
        anonymous = await client.get("/api/v1/console/basemap")
        assert anonymous.status_code == 401


async def test_console_files_app_routes_and_api_paths(
    settings: Settings, db: Database, build: Path
) -> None:
    async for client in _client(_settings(settings, static_dir=str(build)), db):
        for route in ("/", "/map", "/evidence/1b2c/player", "/..%2f..%2fsecret"):
            page = await client.get(route)
            assert page.status_code == 200, route
            assert page.text == "<!doctype html><title>console</title>", route
            assert page.headers["cache-control"] == "no-cache"
            assert page.headers["x-frame-options"] == "DENY"
            assert page.headers["content-security-policy"].startswith("default-src 'self'; ")
        asset = await client.get("/assets/index-abc123.js")
        assert asset.status_code == 200
        assert asset.text == "console.log(1)"
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        icon = await client.get("/favicon.svg")
        assert (icon.status_code, icon.headers["cache-control"]) == (200, "no-cache")
        for missing in (
            "/assets/gone.js",
            "/robots.txt",
            "/..%2fsecret.txt",
            "/api/v1/nothing-here",
            "/metricsx",
        ):
            answer = await client.get(missing)
            assert answer.status_code == 404, missing
            assert answer.json()["error"] == "not_found", missing
        assert (await client.get("/api/v1/nothing-here")).json()["detail"] == "Not Found"
        assert (await client.post("/map")).status_code == 404
        health = await client.get("/healthz")
        assert health.json() == {"status": "ok"}


async def test_without_a_build_the_console_says_how_to_make_one(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    async for client in _client(_settings(settings, static_dir=str(tmp_path / "none")), db):
        answer = await client.get("/map")
        assert answer.status_code == 404
        assert answer.json()["error"] == "console_not_built"


async def test_a_disabled_console_leaves_only_the_api(
    settings: Settings, db: Database, build: Path
) -> None:
    async for client in _client(_settings(settings, enabled=False, static_dir=str(build)), db):
        assert (await client.get("/map")).status_code == 404
        assert (await client.get("/healthz")).status_code == 200


def test_tile_templates_are_checked() -> None:
    ok = ConsoleSettings(tile_url="/tiles/{z}/{x}/{y}.png")
    assert ok.tile_url == "/tiles/{z}/{x}/{y}.png"
    for wrong in (
        "https://tiles.example/{z}/{x}.png",
        "ftp://tiles/{z}/{x}/{y}",
        "tiles/{z}/{x}/{y}",
    ):
        with pytest.raises(ValidationError):
            ConsoleSettings(tile_url=wrong)


def test_the_csp_allows_images_from_the_tile_server_only() -> None:
    from citywitness.console.static import content_security_policy

    policy = content_security_policy("https://tiles.city.example:8443/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: https://tiles.city.example:8443;" in policy
    assert "img-src 'self' data: blob:;" in content_security_policy(None)
    assert "img-src 'self' data: blob:;" in content_security_policy("/tiles/{z}/{x}/{y}.png")
