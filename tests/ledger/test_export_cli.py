"""`citywitness export` with a search instead of ids (`--query`, `--tag`, ...), against a
committed database and a real store; the package verifies offline."""

from __future__ import annotations

import asyncio
import json
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from citywitness.access.levels import Role
from citywitness.cli import app
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.verify_package import verify_package
from citywitness.ledger.verify_trust import Trust
from citywitness.settings import Settings
from citywitness.storage.factory import build_content_store
from tests.evidence.core.helpers import make_item
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor

Invoke = Callable[..., Awaitable[Result]]


@pytest.fixture
def settings_(fresh_database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database={"url": fresh_database_url})  # type: ignore[arg-type]


@pytest.fixture
async def committed(settings_: Settings, fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=2, max_overflow=0)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def cli(settings_: Settings, fresh_database_url: str) -> Invoke:
    runner = CliRunner()
    env = {
        "CW_DATABASE__URL": fresh_database_url,
        "CW_DATA_DIR": str(settings_.data_dir),
        "COLUMNS": "200",
    }

    async def invoke(*args: str) -> Result:
        # The command runs its own event loop: give it a thread of its own.
        return await asyncio.to_thread(runner.invoke, app, ["export", *args], env=env)

    return invoke


async def _items(db: Database, settings: Settings) -> list[EvidenceItem]:
    store = build_content_store(settings, db)
    return [
        await make_item(db, store, tags=["night-patrol"], notes="plate check"),
        await make_item(db, store, tags=["night-patrol"], notes="traffic stop"),
        await make_item(db, store, tags=["day-shift"], notes="plate check"),
    ]


async def test_a_search_is_exported(
    cli: Invoke, committed: Database, settings_: Settings, tmp_path: Path
) -> None:
    first, _, _ = await _items(committed, settings_)
    actor = await make_actor(committed, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    output = tmp_path / "search.zip"

    result = await cli(
        "--query", "plate", "--tag", "night-patrol", "--department", str(PUBLIC_SECURITY),
        "-o", str(output), "--as", actor.user.username, "--reason", "court request",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "1 item(s)" in result.stdout
    with zipfile.ZipFile(output) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert [item["id"] for item in manifest["items"]] == [str(first.id)]
    (tmp_path / "log.vkey").write_text(log_vkey(settings_) + "\n")
    trust = Trust.from_files([tmp_path / "log.vkey", settings_.data_dir / "keys/c2pa/ca.pem"])
    assert verify_package(output, trust).failures() == []
    nothing = await cli(
        "--tag", "plate-check-none", "-o", str(tmp_path / "none.zip"),
        "--as", actor.user.username, "--reason", "x",
    )  # fmt: skip
    assert nothing.exit_code == 1 and "found nothing" in nothing.stderr
    assert not (tmp_path / "none.zip").exists()


async def test_bad_selections_exit_2(cli: Invoke, committed: Database, tmp_path: Path) -> None:
    actor = await make_actor(committed, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    common = ["-o", str(tmp_path / "p.zip"), "--as", actor.user.username, "--reason", "x"]
    neither = await cli(*common)
    both = await cli("--items", "00000000-0000-0000-0000-000000000001", "--tag", "a", *common)
    bad_time = await cli("--captured-from", "yesterday", *common)
    bad_circle = await cli("--near", "30.1,120.2", *common)

    for result in (neither, both, bad_time, bad_circle):
        assert result.exit_code == 2, result.output
    assert "captured_from" in bad_time.stderr


async def test_a_search_outside_the_callers_scope_finds_nothing(
    cli: Invoke, committed: Database, settings_: Settings, tmp_path: Path
) -> None:
    await _items(committed, settings_)
    stranger = await make_actor(committed, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    result = await cli(
        "--tag", "night-patrol", "-o", str(tmp_path / "p.zip"),
        "--as", stranger.user.username, "--reason", "x",
    )  # fmt: skip
    assert result.exit_code == 1 and "found nothing" in result.stderr
