"""The exporter over the live database: real ingested evidence, real ledger entries, a real
sequenced and signed checkpoint; the package verifies offline, also in a subprocess that has
no database settings at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.levels import Role
from citywitness.audit.models import AuditEvent
from citywitness.evidence.exports import ExportReasonRequired, export_items
from citywitness.identity.principals import load_principal
from citywitness.kit.db import Database
from citywitness.ledger import service as ledger
from citywitness.ledger.events import SYSTEM, LedgerEvent, LedgerKind
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.models import LedgerEntry
from citywitness.ledger.verify_package import verify_package
from citywitness.ledger.verify_trust import Trust
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import make_item, make_store
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor


async def _ensure_ingest_entry(db: Database, item_id: uuid.UUID, sha: str, size: int) -> None:
    """Until the evidence custody hooks record ingest, record it as they will."""
    async with db.transaction() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.object_id == str(item_id), LedgerEntry.kind == "evidence.ingested")
        )
        if not found:
            await ledger.append(
                session,
                LedgerEvent(
                    kind=LedgerKind.EVIDENCE_INGESTED,
                    object_type="evidence",
                    object_id=item_id,
                    department_id=PUBLIC_SECURITY,
                    actor=SYSTEM,
                    details={"sha256": sha, "size": size},
                ),
            )


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path / "store")


async def _principal(db: Database, roles: dict[uuid.UUID, list[Role]]):  # type: ignore[no-untyped-def]
    actor = await make_actor(db, roles=roles)
    async with db.transaction() as session:
        return actor.user, await load_principal(session, actor.user)


async def test_export_of_ingested_evidence_verifies_offline(
    db: Database, settings: Settings, store: ContentStore, tmp_path: Path
) -> None:
    item = await make_item(db, store, notes="夜间巡逻 night patrol")
    await _ensure_ingest_entry(db, item.id, item.sha256, item.size_bytes)
    user, principal = await _principal(db, {PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    output = tmp_path / "package.zip"

    summary = await export_items(
        db,
        settings,
        store,
        principal,
        username=user.username,
        item_ids=[item.id],
        reason="court request 2026-17",
        output=output,
    )

    assert summary.path == output and output.stat().st_size == summary.size
    (tmp_path / "log.vkey").write_text(log_vkey(settings) + "\n")
    (tmp_path / "root.pem").write_bytes((settings.data_dir / "keys/c2pa/ca.pem").read_bytes())
    report = verify_package(
        output, Trust.from_files([tmp_path / "log.vkey", tmp_path / "root.pem"])
    )
    assert report.failures() == []
    with zipfile.ZipFile(output) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read(f"files/{item.id}/original.mp4") == await store.read_all(item.sha256)
    [exported] = manifest["items"]
    assert exported["metadata"]["notes"] == "夜间巡逻 night patrol"
    kinds = [json.loads(entry["leaf"])["kind"] for entry in exported["custody"]]
    assert kinds[0] == "evidence.ingested" and kinds[-1] == "evidence.exported"
    assert manifest["exporter"]["reason"] == "court request 2026-17"
    async with db.transaction() as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "evidence.exported", AuditEvent.object_id == str(item.id))
        )
    assert audited == 1

    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = subprocess.run(  # noqa: ASYNC221 - the test waits for the verifier on purpose
        [
            sys.executable,
            "-m",
            "citywitness",
            "verify",
            str(output),
            "--json",
            "--trust",
            str(tmp_path / "log.vkey"),
            "--trust",
            str(tmp_path / "root.pem"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    imported = subprocess.run(  # noqa: ASYNC221 - as above
        [
            sys.executable,
            "-c",
            "import sys, citywitness.ledger.verify_package as v; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'fastapi', 'psycopg', 'httpx', 'procrastinate')); print(bad)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert imported.stdout.strip() == "[]"


async def test_an_item_outside_the_callers_scope_is_not_found(
    db: Database, settings: Settings, store: ContentStore, tmp_path: Path
) -> None:
    item = await make_item(db, store)
    user, principal = await _principal(db, {TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    with pytest.raises(ObjectNotVisible):
        await export_items(
            db,
            settings,
            store,
            principal,
            username=user.username,
            item_ids=[item.id],
            reason="x",
            output=tmp_path / "p.zip",
        )
    assert not (tmp_path / "p.zip").exists()


async def test_a_reason_is_required(
    db: Database, settings: Settings, store: ContentStore, tmp_path: Path
) -> None:
    item = await make_item(db, store)
    user, principal = await _principal(db, {PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    with pytest.raises(ExportReasonRequired):
        await export_items(
            db,
            settings,
            store,
            principal,
            username=user.username,
            item_ids=[item.id],
            reason="  ",
            output=tmp_path / "p.zip",
        )
