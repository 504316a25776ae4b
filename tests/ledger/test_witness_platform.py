"""The platform side of witnessing: registration, cosignatures, cosigned checkpoints, forks,
incidents and what /readyz says about them."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from citywitness.app import create_app
from citywitness.kit.db import Database
from citywitness.kit.health import Readiness
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.note import CosignatureVerifier, NoteVerifier, SignedNote
from citywitness.ledger.witness_forks import forks_readiness
from citywitness.ledger.witness_health import add_ledger_checks
from citywitness.ledger.witness_models import Cosignature, Incident
from citywitness.settings import Settings
from tests.ledger.witness_helpers import (
    WITNESS,
    cosigned,
    forged_note,
    grow,
    ledger_reader,
    platform_admin,
    witness_signer,
)

API = "/api/v1/ledger"


async def _register(
    client: httpx.AsyncClient, db: Database, name: str, vkey: str
) -> httpx.Response:
    admin = await platform_admin(db)
    return await client.post(
        f"{API}/witnesses", json={"name": name, "vkey": vkey}, headers=admin.headers
    )


async def _audit_actions(db: Database) -> list[str]:
    async with db.transaction() as session:
        rows = await session.execute(
            text("SELECT action FROM audit_events WHERE action LIKE 'ledger.%' ORDER BY id")
        )
        return [r[0] for r in rows]


async def test_a_platform_admin_registers_witnesses(
    client: httpx.AsyncClient, db: Database
) -> None:
    signer = witness_signer()
    created = await _register(client, db, WITNESS, signer.verifier_key())
    assert created.status_code == 201, created.text
    assert created.json()["name"] == WITNESS
    assert created.json()["vkey"] == signer.verifier_key()
    again = await _register(client, db, WITNESS, witness_signer().verifier_key())
    assert (again.status_code, again.json()["error"]) == (409, "witness_exists")
    reader = await ledger_reader(db)
    listed = await client.get(f"{API}/witnesses", headers=reader.headers)
    assert [w["vkey"] for w in listed.json()] == [signer.verifier_key()]
    assert await _audit_actions(db) == ["ledger.witness.added"]


@pytest.mark.parametrize(
    ("name", "vkey", "field"),
    [
        (WITNESS, "court.example/witness+00000000+AAAA", "vkey"),
        ("someone-else", None, "name"),
        (WITNESS, "log+", "vkey"),
    ],
)
async def test_bad_witness_keys_are_refused(
    client: httpx.AsyncClient, db: Database, name: str, vkey: str | None, field: str
) -> None:
    key = vkey if vkey is not None else witness_signer().verifier_key()
    response = await _register(client, db, name, key)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_witness_key"
    assert field in response.json()["fields"]


async def test_a_log_signature_key_is_not_a_witness_key(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    response = await _register(client, db, log_vkey(settings).split("+")[0], log_vkey(settings))
    assert response.json()["error"] == "invalid_witness_key"


async def test_cosignatures_are_stored_and_served_with_the_checkpoint(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    signer, other = witness_signer(), witness_signer("city-audit.example/w")
    await _register(client, db, signer.name, signer.verifier_key())
    await _register(client, db, other.name, other.verifier_key())
    checkpoint = await grow(db, settings, 5)
    note = bytes(checkpoint.note)
    both = SignedNote.decode(
        cosigned(cosigned(note, signer).encode(), other, 1_800_000_001).encode()
    )

    first = await client.post(f"{API}/cosignatures", json={"note": both.encode().decode()})
    assert first.status_code == 201, first.text
    assert first.json() == {
        "size": 5,
        "root": base64.b64encode(bytes(checkpoint.root)).decode(),
        "cosignatures": [  # by witness name
            {"witness": other.name, "timestamp": 1_800_000_001, "new": True},
            {"witness": signer.name, "timestamp": 1_800_000_000, "new": True},
        ],
    }
    again = await client.post(f"{API}/cosignatures", json={"note": cosigned(note, signer, 5)})
    assert again.status_code == 201
    assert again.json()["cosignatures"] == [{"witness": signer.name, "timestamp": 5, "new": False}]

    reader = await ledger_reader(db)
    for path in ("/checkpoint/cosigned", "/checkpoints/5/cosigned"):
        served = await client.get(API + path, headers=reader.headers)
        assert served.status_code == 200
        assert served.headers["content-type"].startswith("text/plain")
        parsed = SignedNote.decode(served.content)
        assert parsed.body == SignedNote.decode(note).body
        assert NoteVerifier.from_vkey(log_vkey(settings)).verify(parsed)
        assert CosignatureVerifier.from_vkey(signer.verifier_key()).verify(parsed) == 1_800_000_000
        assert CosignatureVerifier.from_vkey(other.verifier_key()).verify(parsed) == 1_800_000_001
        assert len(parsed.signatures) == 3
    assert (
        await _audit_actions(db)
        == ["ledger.witness.added"] * 2 + ["ledger.cosignature.recorded"] * 2
    )


async def test_an_older_checkpoint_keeps_its_own_cosignatures(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    signer = witness_signer()
    await _register(client, db, signer.name, signer.verifier_key())
    old = await grow(db, settings, 3)
    await client.post(f"{API}/cosignatures", json={"note": cosigned(bytes(old.note), signer)})
    await grow(db, settings, 2, start=3)
    reader = await ledger_reader(db)
    latest_cosigned = await client.get(f"{API}/checkpoint/cosigned", headers=reader.headers)
    assert (
        SignedNote.decode(latest_cosigned.content).body == SignedNote.decode(bytes(old.note)).body
    )
    uncosigned = await client.get(f"{API}/checkpoints/5/cosigned", headers=reader.headers)
    assert len(SignedNote.decode(uncosigned.content).signatures) == 1  # the log's own only
    missing = await client.get(f"{API}/checkpoints/99/cosigned", headers=reader.headers)
    assert (missing.status_code, missing.json()["error"]) == (404, "no_cosigned_checkpoint")


async def test_no_cosigned_checkpoint_yet_is_404(client: httpx.AsyncClient, db: Database) -> None:
    reader = await ledger_reader(db)
    response = await client.get(f"{API}/checkpoint/cosigned", headers=reader.headers)
    assert (response.status_code, response.json()["error"]) == (404, "no_cosigned_checkpoint")


async def test_cosignatures_that_do_not_verify_are_refused(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    registered, stranger = witness_signer(), witness_signer("stranger.example/w")
    await _register(client, db, registered.name, registered.verifier_key())
    note = bytes((await grow(db, settings, 2)).note)
    impostor = witness_signer()  # the registered name, another key
    tampered = SignedNote.decode(cosigned(note, registered).encode())
    bad_line = tampered.signatures[-1]
    flipped = bytes([bad_line.signature[0] ^ 1]) + bad_line.signature[1:]
    tampered = SignedNote(
        tampered.body,
        (*tampered.signatures[:-1], type(bad_line)(bad_line.name, bad_line.key_id, flipped)),
    )
    cases = {
        cosigned(note, stranger): "invalid_cosignature",
        cosigned(note, impostor): "invalid_cosignature",
        tampered.encode().decode(): "invalid_cosignature",
        note.decode(): "invalid_cosignature",
        "garbage": "invalid_note",
        cosigned(note, registered).replace("\n\n", "\n\n\u2014 x AAAA\n", 1): "invalid_note",
    }
    for body, code in cases.items():
        response = await client.post(f"{API}/cosignatures", json={"note": body})
        assert (response.status_code, response.json()["error"]) == (422, code), body
    async with db.transaction() as session:
        assert (await session.scalars(select(Cosignature))).all() == []


async def test_a_note_not_signed_by_this_log_is_refused(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    signer = witness_signer()
    await _register(client, db, signer.name, signer.verifier_key())
    await grow(db, settings, 2)
    other = settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("other-log")})
    foreign = forged_note(other, 2)  # same origin, another key
    response = await client.post(f"{API}/cosignatures", json={"note": cosigned(foreign, signer)})
    assert (response.status_code, response.json()["error"]) == (422, "not_this_log")


async def test_a_forked_checkpoint_handed_in_by_a_witness_is_an_incident(
    client: httpx.AsyncClient, db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    signer = witness_signer()
    await _register(client, db, signer.name, signer.verifier_key())
    ours = await grow(db, settings, 4)
    fork = forged_note(settings, 4)
    with caplog.at_level(logging.CRITICAL, logger="citywitness.ledger.witness_forks"):
        response = await client.post(f"{API}/cosignatures", json={"note": cosigned(fork, signer)})
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "ledger_fork"
    incident_id = response.json()["fields"]["incident_id"]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL] == [
        "ledger fork detected"
    ]
    async with db.transaction() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        assert (incident.kind, incident.severity, incident.size) == ("fork", "critical", 4)
        assert incident.summary == "a signed checkpoint of size 4 has a root this log never had"
        assert incident.evidence["our_root"] == base64.b64encode(bytes(ours.root)).decode()
        assert incident.evidence["notes"][0].startswith(SignedNote.decode(fork).body.decode())
        assert (await session.scalars(select(Cosignature))).all() == []
    assert "ledger.fork_detected" in await _audit_actions(db)
    problem = await forks_readiness(db)()
    assert problem == f"fork detected: {incident.summary} (incident {incident_id})"
    again = await client.post(f"{API}/cosignatures", json={"note": cosigned(fork, signer, 7)})
    assert again.json()["fields"]["incident_id"] == incident_id  # the same evidence, once


async def test_a_fork_report_with_two_roots_for_one_size(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    ours = await grow(db, settings, 3)
    body = {"notes": [bytes(ours.note).decode(), forged_note(settings, 3).decode()], "witness": "w"}
    response = await client.post(f"{API}/forks", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["summary"] == "two signed checkpoints of size 3 with different roots"
    assert response.json()["reported_by"] == "w"
    first, second = forged_note(settings, 3, b"a"), forged_note(settings, 3, b"b")
    both_forged = await client.post(
        f"{API}/forks", json={"notes": [first.decode(), second.decode()]}
    )
    assert both_forged.json()["summary"] == "two signed checkpoints of size 3 with different roots"
    repeat = await client.post(f"{API}/forks", json=body)
    assert repeat.json()["id"] == response.json()["id"]


async def test_a_checkpoint_beyond_the_log_is_a_fork(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    await grow(db, settings, 2)
    response = await client.post(
        f"{API}/forks", json={"notes": [forged_note(settings, 9).decode()]}
    )
    assert response.json()["summary"] == (
        "a signed checkpoint of size 9 is beyond this log's latest checkpoint (2)"
    )


async def test_fork_reports_that_prove_nothing_are_refused(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    old = await grow(db, settings, 2)
    new = await grow(db, settings, 3, start=2)
    honest = {"notes": [bytes(old.note).decode(), bytes(new.note).decode()]}
    response = await client.post(f"{API}/forks", json=honest)
    assert (response.status_code, response.json()["error"]) == (422, "fork_not_proven")
    unsigned = SignedNote(SignedNote.decode(bytes(new.note)).body, ()).body.decode() + "\n"
    refused = await client.post(f"{API}/forks", json={"notes": [unsigned]})
    assert (refused.status_code, refused.json()["error"]) == (422, "invalid_note")
    async with db.transaction() as session:
        assert (await session.scalars(select(Incident))).all() == []


async def test_an_acknowledged_incident_no_longer_fails_readiness(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    await grow(db, settings, 1)
    report = await client.post(f"{API}/forks", json={"notes": [forged_note(settings, 1).decode()]})
    incident_id = report.json()["id"]
    readiness = Readiness()
    add_ledger_checks(readiness, settings, db)
    app = create_app(settings, db, readiness)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as probe:
        failing = await probe.get("/readyz")
        assert failing.status_code == 503
        assert failing.json()["checks"]["ledger_forks"].startswith("fork detected: ")
        assert failing.json()["checks"]["ledger_timestamps"] == "ok: off (no TSA configured)"
        assert failing.json()["checks"]["ledger_anchors"] == "ok: off (no anchor configured)"
        admin = await platform_admin(db)
        url = f"{API}/incidents/{incident_id}/acknowledge"
        ack = await client.post(url, json={"note": "test fork"}, headers=admin.headers)
        assert ack.status_code == 200, ack.text
        assert ack.json()["acknowledgement"] == "test fork"
        twice = await client.post(url, json={"note": "again"}, headers=admin.headers)
        assert (twice.status_code, twice.json()["error"]) == (409, "incident_acknowledged")
        ready = await probe.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["ledger_forks"] == "ok"
    reader = await ledger_reader(db)
    listed = await client.get(f"{API}/incidents", headers=reader.headers)
    assert [i["id"] for i in listed.json()] == [incident_id]
    assert listed.json()[0]["acknowledged_at"] is not None
    missing = await client.post(
        f"{API}/incidents/00000000-0000-4000-8000-00000000dead/acknowledge",
        json={"note": "x"},
        headers=admin.headers,
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "incident_not_found")


@pytest.mark.parametrize(
    "table",
    ["ledger_cosignatures", "ledger_incidents", "ledger_incident_acknowledgements"],
)
async def test_witness_tables_refuse_truncate(db: Database, table: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.transaction() as session:
            await session.execute(text(f"TRUNCATE {table} CASCADE"))


async def test_incidents_refuse_update_and_delete(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    await grow(db, settings, 1)
    await client.post(f"{API}/forks", json={"notes": [forged_note(settings, 1).decode()]})
    for statement in ("UPDATE ledger_incidents SET summary = 'x'", "DELETE FROM ledger_incidents"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as session:
                await session.execute(text(statement))
