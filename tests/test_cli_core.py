"""The core commands: help, `db upgrade`, `openapi`, `config reference`, and the demo's
first-start bootstrap (the server itself is exercised in test_serve_process.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from citywitness.access.levels import Classification
from citywitness.agencies.models import Officer
from citywitness.audit.models import AuditEvent
from citywitness.cli import app
from citywitness.cli.demo import (
    DEMO_ADMIN,
    HOME_DEPARTMENT,
    bootstrap_demo,
    print_banner,
    with_city_basemap,
)
from citywitness.cli.docs import openapi_text, settings_reference
from citywitness.identity.models import Membership, User
from citywitness.identity.passwords import verify_password
from citywitness.kit import migrate
from citywitness.kit.db import Database
from citywitness.settings import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CW_") and not name.startswith("CW_TEST_"):
            monkeypatch.delenv(name)


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "demo", "worker", "db", "config", "users", "openapi"):
        assert command in result.stdout


def test_db_upgrade_reports_the_revision(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CW_DATABASE__URL", fresh_database_url)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"database at revision {migrate.current_revision(fresh_database_url)}\n"


def test_openapi_command_prints_and_writes_the_document(tmp_path: Path) -> None:
    printed = CliRunner().invoke(app, ["openapi"])
    assert printed.exit_code == 0
    assert printed.stdout == openapi_text()
    target = tmp_path / "out" / "openapi.json"
    written = CliRunner().invoke(app, ["openapi", "--output", str(target)])
    assert written.exit_code == 0
    assert target.read_text(encoding="utf-8") == openapi_text()
    assert json.loads(target.read_text(encoding="utf-8"))["info"]["title"] == "CityWitness"


def test_config_reference_lists_every_setting() -> None:
    result = CliRunner().invoke(app, ["config", "reference"])
    assert result.exit_code == 0
    assert result.stdout == settings_reference()
    rows = [line for line in result.stdout.splitlines() if line.startswith("| `")]
    keys = [row.split("`")[1] for row in rows]
    assert "database.url" in keys
    assert "auth.oidc_providers[].client_secret" in keys
    assert "storage.s3.bucket" in keys
    assert "| `server.port` | `CW_SERVER__PORT` | int | `8000` |" in result.stdout


async def test_demo_bootstrap_creates_the_admin_once(fresh_database_url: str) -> None:
    password = await bootstrap_demo(fresh_database_url, password_min_length=12)
    assert password is not None
    assert len(password) >= 20
    assert await bootstrap_demo(fresh_database_url, password_min_length=12) is None

    db = Database(fresh_database_url)
    try:
        async with db.transaction() as session:
            (admin,) = (await session.scalars(select(User))).all()
            memberships = (await session.scalars(select(Membership))).all()
            events = (await session.scalars(select(AuditEvent))).all()
            badges = sorted((await session.scalars(select(Officer.badge_number))).all())
    finally:
        await db.dispose()
    assert admin.username == DEMO_ADMIN
    assert admin.clearance == Classification.SECRET
    assert verify_password(admin.password_hash, password)
    assert [(m.department_id, m.role) for m in memberships] == [(HOME_DEPARTMENT, "platform_admin")]
    created = [e for e in events if e.action == "user.created"]
    assert [(e.actor_kind, e.object_id, e.details) for e in created] == [
        ("system", str(admin.id), {"via": "demo", "role": "platform_admin"})
    ]
    assert badges == ["PS-1001", "PS-1002", "PS-1003"]


async def test_demo_bootstrap_honours_a_longer_minimum(fresh_database_url: str) -> None:
    password = await bootstrap_demo(fresh_database_url, password_min_length=40)
    assert password is not None
    assert len(password) >= 40


def test_banner_shows_the_password_only_when_new(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(server={"public_url": "http://127.0.0.1:8123"})  # type: ignore[arg-type]
    print_banner(settings, "s3cret-once")
    first = capsys.readouterr().out
    assert "CityWitness is starting at http://127.0.0.1:8123" in first
    assert "sign in as admin with the one-time password s3cret-once" in first
    print_banner(settings, None)
    later = capsys.readouterr().out
    assert "s3cret" not in later
    assert "the credentials of admin were shown on the first start" in later
    assert "citywitness users reset-password admin" in later


def test_the_demo_draws_the_simulated_city_unless_a_map_is_configured(tmp_path: Path) -> None:
    plain = Settings(data_dir=tmp_path)
    drawn = with_city_basemap(plain, fleet=True)
    assert drawn.console.basemap_geojson == tmp_path / "city.geojson"
    assert with_city_basemap(plain, fleet=False).console.basemap_geojson is None
    tiles = Settings(data_dir=tmp_path, console={"tile_url": "/tiles/{z}/{x}/{y}.png"})  # type: ignore[arg-type]
    assert with_city_basemap(tiles, fleet=True).console.basemap_geojson is None
    own = Settings(data_dir=tmp_path, console={"basemap_geojson": "/srv/streets.geojson"})  # type: ignore[arg-type]
    assert with_city_basemap(own, fleet=True).console.basemap_geojson == Path(
        "/srv/streets.geojson"
    )
