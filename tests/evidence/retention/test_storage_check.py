"""`citywitness storage check` against a committed database and a real local store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import Result
from typer.testing import CliRunner

from citywitness.cli import app
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage.factory import build_content_store
from citywitness.storage.store import ContentStore
from tests.evidence.retention.helpers import make_item, put

Invoke = Callable[..., Awaitable[Result]]


@pytest.fixture
def settings_(fresh_database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database={"url": fresh_database_url})  # type: ignore[arg-type]


@pytest.fixture
async def store(settings_: Settings, fresh_database_url: str) -> AsyncIterator[ContentStore]:
    db = Database(fresh_database_url, pool_size=2, max_overflow=0)
    try:
        yield build_content_store(settings_, db)
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
        return await asyncio.to_thread(runner.invoke, app, ["storage", "check", *args], env=env)

    return invoke


def _blob(settings: Settings, sha256: str) -> Path:
    [found] = (settings.data_dir / "objects").rglob(f"{sha256}.*")
    return found


def _audits(url: str) -> list[dict[str, object]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT details FROM audit_events WHERE action = 'storage.check' ORDER BY id"
        ).fetchall()
    return [row[0] for row in rows]


async def _items(store: ContentStore, url: str) -> tuple[EvidenceItem, EvidenceItem]:
    db = Database(url, pool_size=2, max_overflow=0)
    try:
        first = await make_item(db, store, data=b"a" * 10_000)
        second = await make_item(db, store, data=b"b" * 20_000)
    finally:
        await db.dispose()
    return first, second


async def test_a_clean_store_passes_and_a_flipped_byte_is_reported(
    cli: Invoke, store: ContentStore, settings_: Settings, fresh_database_url: str
) -> None:
    first, second = await _items(store, fresh_database_url)

    clean = await cli("--grace-hours", "0", "--rate", "100")
    assert clean.exit_code == 0, clean.output
    assert "checked 2 objects, 30000 bytes: no problems" in clean.stdout

    blob = _blob(settings_, second.sha256)
    data = bytearray(blob.read_bytes())
    data[200] ^= 0x01
    blob.write_bytes(bytes(data))
    _blob(settings_, first.sha256).unlink()
    loose = await put(store, b"stored but never registered")

    dirty = await cli("--grace-hours", "0")
    assert dirty.exit_code == 1, dirty.output
    lines = dirty.stdout.splitlines()
    assert any(line.split()[:2] == ["│", "corrupt"] and second.sha256 in line for line in lines)
    assert any(line.split()[:2] == ["│", "missing"] and first.sha256 in line for line in lines)
    assert any(line.split()[:2] == ["│", "unreferenced"] and loose.sha256 in line for line in lines)
    assert "checked 3 objects, 30027 bytes: 3 problem(s)" in dirty.stdout
    assert [a["issues"] for a in _audits(fresh_database_url)] == [0, 3]


async def test_an_unfinished_pass_resumes_from_its_cursor(
    cli: Invoke, store: ContentStore, settings_: Settings, fresh_database_url: str
) -> None:
    first, second = await _items(store, fresh_database_url)
    earlier = min(first.sha256, second.sha256)

    partial = await cli("--limit", "1")
    assert partial.exit_code == 0, partial.output
    assert "checked 1 objects" in partial.stdout
    assert "continue with `citywitness storage check --resume`" in partial.stdout
    state = json.loads((settings_.data_dir / "storage-check.json").read_text())
    assert (state["cursor"], state["objects"]) == (earlier, 1)

    resumed = await cli("--resume", "--grace-hours", "0")
    assert resumed.exit_code == 0, resumed.output
    assert "checked 2 objects, 30000 bytes: no problems" in resumed.stdout
    assert not (settings_.data_dir / "storage-check.json").exists()
    assert [(a["objects"], a["complete"], a["resumed"]) for a in _audits(fresh_database_url)] == [
        (1, False, False),
        (2, True, True),
    ]
