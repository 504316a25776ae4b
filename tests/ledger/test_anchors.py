"""External anchors through the `http` adapter, against a fake deposit service (a tiny HTTP
server in the test standing in for a judicial or notary chain gateway, which cannot be
reached from here)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.ledger.anchors import AnchorError, HttpDepositAnchor, build_anchor
from citywitness.ledger.anchors_models import AnchoringStatus, AnchorReceiptRecord
from citywitness.ledger.anchors_service import anchor_latest, as_receipt
from citywitness.ledger.anchors_status import anchor_job, status_readiness
from citywitness.ledger.anchors_tasks import run_anchors
from citywitness.ledger.note import SignedNote
from citywitness.settings import Settings
from citywitness.settings.sections import HttpAnchorSettings, LedgerAnchorSettings
from tests.ledger.witness_helpers import forged_note, grow, ledger_reader


@dataclass
class DepositService:
    """Keeps deposited hashes by transaction id; `down` makes it answer 503."""

    url: str = ""
    deposits: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    tokens: list[str | None] = field(default_factory=list)


@pytest.fixture
def deposit() -> Iterator[DepositService]:
    service = DepositService()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            service.tokens.append(self.headers.get("Authorization"))
            if service.down:
                self._answer(503, {"error": "maintenance"})
                return
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            transaction = hashlib.sha256(request["hash"].encode()).hexdigest()[:16]
            height = 1000 + len(service.deposits)
            service.deposits[transaction] = {**request, "block_height": height}
            self._answer(201, {"transaction": transaction, "block_height": height})

        def do_GET(self) -> None:
            found = service.deposits.get(self.path.rsplit("/", 1)[-1])
            if found is None:
                self._answer(404, {"error": "unknown"})
                return
            transaction = self.path.rsplit("/", 1)[-1]
            self._answer(200, {"transaction": transaction, **found})

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}/deposits"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


def _adapter(deposit: DepositService, **extra: Any) -> HttpAnchorSettings:
    return HttpAnchorSettings(kind="http", name="court-chain", url=deposit.url, **extra)


def with_anchor(settings: Settings, deposit: DepositService, **extra: Any) -> Settings:
    anchors = LedgerAnchorSettings(adapters=[_adapter(deposit, **extra)])
    return settings.model_copy(
        update={"ledger": settings.ledger.model_copy(update={"anchors": anchors})}
    )


async def _receipts(db: Database) -> list[AnchorReceiptRecord]:
    async with db.transaction() as session:
        return list(await session.scalars(select(AnchorReceiptRecord)))


async def test_the_latest_checkpoint_is_anchored_and_verifies(
    db: Database, settings: Settings, deposit: DepositService, client: httpx.AsyncClient
) -> None:
    settings = with_anchor(settings, deposit, token="s3cret")  # type: ignore[arg-type]
    checkpoint = await grow(db, settings, 3)
    assert await run_anchors(db, settings) is True
    [record] = await _receipts(db)
    body = SignedNote.decode(bytes(checkpoint.note)).body
    digest = hashlib.sha256(body).hexdigest()
    assert (record.anchor, record.size, bytes(record.root)) == (
        "court-chain",
        3,
        bytes(checkpoint.root),
    )
    assert record.details == {"hash": digest, "size": 3, "block_height": 1000}
    assert deposit.deposits[record.reference]["hash"] == digest
    assert deposit.deposits[record.reference]["origin"] == body.decode().split("\n")[0]
    assert deposit.tokens == ["Bearer s3cret"]
    async with httpx.AsyncClient() as http:
        anchor = build_anchor(_adapter(deposit), http)
        assert await anchor.verify(as_receipt(record), bytes(checkpoint.note)) is True
        other = forged_note(settings, 3)
        assert await anchor.verify(as_receipt(record), other) is False
        deposit.deposits[record.reference]["hash"] = "0" * 64  # the service lost or changed it
        assert await anchor.verify(as_receipt(record), bytes(checkpoint.note)) is False
    reader = await ledger_reader(db)
    listed = await client.get("/api/v1/ledger/checkpoints/3/anchors", headers=reader.headers)
    assert listed.status_code == 200
    assert [(r["anchor"], r["reference"], r["details"]["block_height"]) for r in listed.json()] == [
        ("court-chain", record.reference, 1000)
    ]


async def test_anchoring_waits_for_a_newer_checkpoint_and_the_interval(
    db: Database, settings: Settings, deposit: DepositService
) -> None:
    settings = with_anchor(settings, deposit)
    await grow(db, settings, 1)
    await run_anchors(db, settings)
    await run_anchors(db, settings)
    assert len(deposit.deposits) == 1
    await grow(db, settings, 1, start=1)
    async with httpx.AsyncClient() as http:
        anchor = build_anchor(_adapter(deposit), http)
        interval = timedelta(minutes=60)
        early = await anchor_latest(db, anchor, interval=interval)
        assert (early.anchored, early.skipped) == (False, "not due yet")
        later = await anchor_latest(db, anchor, interval=interval, now=utcnow() + interval)
        assert (later.anchored, later.size) == (True, 2)
    assert sorted(r.size for r in await _receipts(db)) == [1, 2]


async def test_a_failing_service_is_degraded_on_readiness_and_stores_nothing(
    db: Database, settings: Settings, deposit: DepositService
) -> None:
    settings = with_anchor(settings, deposit)
    await grow(db, settings, 1)
    deposit.down = True
    assert await run_anchors(db, settings) is False
    assert await _receipts(db) == []
    job = anchor_job("court-chain")
    async with db.transaction() as session:
        status = await session.get(AnchoringStatus, job)
    assert status is not None
    assert status.last_error == "anchor court-chain answered HTTP 503"
    check = status_readiness(
        db, lambda: [job], stale_after=timedelta(minutes=180), off_reason="no anchor configured"
    )
    assert (await check() or "").startswith(f"ok: {job}: degraded, failing since ")
    deposit.down = False
    assert await run_anchors(db, settings) is True
    assert await check() is None


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"block_height": 1}, "no transaction id"),
        ({"transaction": "t"}, "no block height"),
        ({"transaction": "t", "block_height": True}, "no block height"),
        ([1, 2], "did not answer a JSON object"),
    ],
)
async def test_unusable_answers_are_errors(
    reply: object, message: str, settings: Settings, tmp_path: Path
) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=reply)

    note = forged_note(settings.model_copy(update={"data_dir": tmp_path}), 1)
    config = HttpAnchorSettings(kind="http", name="x", url="http://deposit.invalid/")
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        with pytest.raises(AnchorError, match=message):
            await HttpDepositAnchor(config, http).submit(note)


async def test_an_unreachable_service_is_an_error(settings: Settings, tmp_path: Path) -> None:
    note = forged_note(settings.model_copy(update={"data_dir": tmp_path}), 1)
    config = HttpAnchorSettings(kind="http", name="x", url="http://127.0.0.1:9/deposits")
    async with httpx.AsyncClient() as http:
        with pytest.raises(AnchorError, match="anchor x unreachable"):
            await HttpDepositAnchor(config, http).submit(note)
        with pytest.raises(AnchorError, match="not a signed checkpoint"):
            await HttpDepositAnchor(config, http).submit(b"nonsense")


def test_anchor_settings_are_typed_by_kind() -> None:
    loaded = Settings(
        ledger={"anchors": {"adapters": [{"kind": "http", "name": "a", "url": "http://x"}]}}  # type: ignore[arg-type]
    )
    assert loaded.ledger.anchors.adapters[0].kind == "http"
    with pytest.raises(ValueError, match="kind"):
        Settings(ledger={"anchors": {"adapters": [{"kind": "chain", "name": "a", "url": "u"}]}})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="anchor names must be unique"):
        twice = [{"kind": "http", "name": "a", "url": "http://x"}] * 2
        Settings(ledger={"anchors": {"adapters": twice}})  # type: ignore[arg-type]
