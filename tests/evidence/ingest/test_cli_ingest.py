"""`citywitness ingest`: folders, duplicates, resume after interruption, exit codes, names."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from citywitness.agencies.service import ensure_officer
from citywitness.cli import app
from citywitness.evidence.dock import DockImporter, ImportState, resolve_source, state_file
from citywitness.evidence.models import EvidenceItem, IngestChannel
from citywitness.kit.db import Database
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import make_store
from tests.evidence.ingest.conftest import pdf_bytes
from tests.factories import PUBLIC_SECURITY

BADGE = "PS-7001"
MIB = 1024 * 1024


@pytest.fixture
def cli_env(fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in list(os.environ):
        if name.startswith("CW_") and not name.startswith("CW_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CW_DATABASE__URL", fresh_database_url)
    monkeypatch.setenv("CW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CW_STORAGE__MIN_FREE_BYTES", "0")
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line

    async def officer() -> None:
        db = Database(fresh_database_url)
        async with db.transaction() as session:
            await ensure_officer(
                session, badge_number=BADGE, display_name="O", department_id=PUBLIC_SECURITY
            )
        await db.dispose()

    asyncio.run(officer())
    return fresh_database_url


def run(*paths: Path, category: str = "criminal-evidence", officer: str = BADGE) -> Result:
    args = ["ingest", *map(str, paths), "--officer", officer, "--device", "REC-01"]
    return CliRunner().invoke(app, [*args, "--category", category, "--tag", "dock"])


def items(url: str) -> list[EvidenceItem]:
    async def load() -> list[EvidenceItem]:
        db = Database(url)
        async with db.transaction() as session:
            found = list((await session.scalars(select(EvidenceItem))).all())
        await db.dispose()
        return found

    return asyncio.run(load())


def test_folders_recursively_duplicates_skipped_and_rerun(cli_env: str, tmp_path: Path) -> None:
    one, two = pdf_bytes(5000), pdf_bytes(7000)
    (tmp_path / "dock" / "a" / "b").mkdir(parents=True)
    (tmp_path / "dock" / "a" / "b" / "one.pdf").write_bytes(one)
    (tmp_path / "dock" / "two.pdf").write_bytes(two)
    (tmp_path / "dock" / "a" / "copy.pdf").write_bytes(one)
    result = run(tmp_path / "dock")
    assert result.exit_code == 0, result.output
    assert "2 ingested, 1 duplicate" in result.output
    found = items(cli_env)
    assert sorted(i.sha256 for i in found) == sorted(
        hashlib.sha256(d).hexdigest() for d in (one, two)
    )
    assert {i.ingest_channel for i in found} == {IngestChannel.DOCK}
    assert {i.recorder_serial for i in found} == {"REC-01"}
    assert {tuple(i.tags) for i in found} == {("dock",)}
    assert all(i.officer_id is not None and i.uploaded_by is None for i in found)

    again = run(tmp_path / "dock")
    assert again.exit_code == 0, again.output
    assert "3 done earlier" in again.output
    assert len(items(cli_env)) == 2


def test_exit_codes(cli_env: str, tmp_path: Path) -> None:
    good = tmp_path / "good.pdf"
    good.write_bytes(pdf_bytes(3000))
    assert run(good, officer="NOBODY").exit_code == 2
    assert run(good, category="no-such-category").exit_code == 2
    assert items(cli_env) == []
    empty, text = tmp_path / "empty.pdf", tmp_path / "notes.pdf"
    empty.write_bytes(b"")
    text.write_bytes(b"just some text, not a pdf")
    result = run(good, empty, text, tmp_path / "missing.pdf")
    assert result.exit_code == 1, result.output
    assert "1 ingested, 3 failed" in result.output
    for code in ("empty_file", "media_type_mismatch", "not_found"):
        assert code in result.output
    assert len(items(cli_env)) == 1
    by_name = run(good, category="criminal CASE evidence")
    assert by_name.exit_code == 0, by_name.output


def test_bad_names_fail_alone(cli_env: str, tmp_path: Path) -> None:
    folder = tmp_path / "names"
    folder.mkdir()
    (folder / "bell\x07.pdf").write_bytes(pdf_bytes(2000))
    (folder / os.fsdecode(b"\xff\xfe.pdf")).write_bytes(pdf_bytes(2100))
    (folder / "fine.pdf").write_bytes(pdf_bytes(2200))
    result = run(folder)
    assert result.exit_code == 1, result.output
    assert "1 ingested, 2 failed" in result.output
    assert "invalid_metadata" in result.output
    assert "\x07" not in result.output
    assert [i.original_filename for i in items(cli_env)] == ["fine.pdf"]


class Interrupt(Exception):
    pass


async def test_resume_after_interruption(db: Database, tmp_path: Path) -> None:
    async with db.transaction() as session:
        await ensure_officer(
            session, badge_number=BADGE, display_name="O", department_id=PUBLIC_SECURITY
        )
    store: ContentStore = make_store(db, tmp_path / "store")
    data = pdf_bytes(3 * MIB)
    path = tmp_path / "long.pdf"
    path.write_bytes(data)
    source = await resolve_source(
        db, officer_badge=BADGE, recorder_serial="REC-01", category="criminal-evidence"
    )
    state_path = state_file(tmp_path / "data", [path], source)

    def importer() -> DockImporter:
        state = ImportState.load(state_path)
        return DockImporter(db, store, source, state, read_bytes=256 * 1024, checkpoint_bytes=MIB)

    seen = 0

    def stop_after_two_mib(n: int) -> None:
        nonlocal seen
        seen += n
        if seen >= 2 * MIB + 256 * 1024:
            raise Interrupt

    with pytest.raises(Interrupt):
        await importer().ingest_file(path, stop_after_two_mib)
    assert "upload_id" in next(iter(ImportState.load(state_path).entries.values()))

    progress: list[int] = []
    second = importer()
    result = await second.ingest_file(path, progress.append)
    second.save_state()  # as the command does when it ends
    assert result.status == "ingested"
    assert progress[0] == 2 * MIB  # resumed from the last checkpoint, not from zero
    assert sum(progress) == len(data)
    async with db.transaction() as session:
        item = await session.get(EvidenceItem, result.evidence_id)
        assert item is not None
        assert item.sha256 == hashlib.sha256(data).hexdigest()
    again = await importer().ingest_file(path)
    assert (again.status, again.evidence_id) == ("done earlier", result.evidence_id)
