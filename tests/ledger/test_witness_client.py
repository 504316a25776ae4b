"""The witness (`citywitness witness`'s engine) against the in-process platform: it pins the
log key, checks consistency, cosigns, remembers; on a fork it refuses and reports."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from citywitness.kit.db import Database
from citywitness.ledger.keys import log_origin, log_vkey
from citywitness.ledger.note import CosignatureSigner, SignedNote
from citywitness.ledger.witness_client import (
    ForkDetected,
    LogClient,
    Witness,
    WitnessError,
    WitnessState,
    api_base,
)
from citywitness.ledger.witness_models import Cosignature, Incident
from citywitness.settings import Settings
from tests.ledger.witness_helpers import (
    forged_note,
    grow,
    ledger_reader,
    platform_admin,
    witness_signer,
)

CLOCK = 1_800_000_000


async def _witness(
    client: httpx.AsyncClient,
    db: Database,
    state_file: Path,
    *,
    signer: CosignatureSigner | None = None,
    register: bool = True,
    log_key: str | None = None,
) -> Witness:
    signer = signer or witness_signer()
    if register:
        admin = await platform_admin(db)
        created = await client.post(
            "/api/v1/ledger/witnesses",
            json={"name": signer.name, "vkey": signer.verifier_key()},
            headers=admin.headers,
        )
        assert created.status_code == 201
    reader = await ledger_reader(db)
    return Witness(
        name=signer.name,
        signer=signer,
        state_file=state_file,
        client=LogClient(client, "http://testserver", reader.token),
        log_vkey=log_key,
        clock=lambda: CLOCK,
    )


async def _cosignature_sizes(db: Database) -> list[int]:
    async with db.transaction() as session:
        return sorted((await session.scalars(select(Cosignature.size))).all())


def test_the_log_url_may_name_the_ledger_api() -> None:
    assert api_base("https://cw.example/") == "https://cw.example/api/v1/ledger"
    assert api_base("https://cw.example/api/v1/ledger") == "https://cw.example/api/v1/ledger"


async def test_a_witness_cosigns_and_follows_the_log(
    client: httpx.AsyncClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    state_file = tmp_path / "witness" / "state.json"
    witness = await _witness(client, db, state_file)
    first = await grow(db, settings, 3)
    done = await witness.run_once()
    assert (done.size, done.cosigned) == (3, True)
    state = WitnessState.load(state_file)
    assert state is not None
    assert state.log_vkey == log_vkey(settings)  # fetched once, now pinned
    assert (state.origin, state.size) == (log_origin(settings), 3)
    assert state.root == base64.b64encode(bytes(first.root)).decode()
    assert state.note == bytes(first.note).decode()
    assert json.loads(state_file.read_text())["version"] == 1
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"

    idle = await witness.run_once()
    assert (idle.size, idle.cosigned, idle.message) == (3, False, "nothing new to cosign")

    await grow(db, settings, 300, start=3)  # crosses a full tile: a real consistency proof
    grown = await witness.run_once()
    assert (grown.size, grown.cosigned) == (303, True)
    assert await _cosignature_sizes(db) == [3, 303]

    reader = await ledger_reader(db)
    served = await client.get("/api/v1/ledger/checkpoint/cosigned", headers=reader.headers)
    note = SignedNote.decode(served.content)
    assert [s.name for s in note.signatures] == [log_origin(settings), witness.name]
    assert witness.signer.cosign(note.body, CLOCK) == note.signatures[1]


async def test_an_unregistered_witness_keeps_its_old_state(
    client: httpx.AsyncClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    witness = await _witness(client, db, state_file, register=False)
    await grow(db, settings, 2)
    with pytest.raises(WitnessError, match="refused the cosignature \\(HTTP 422\\)"):
        await witness.run_once()
    assert not state_file.exists()  # stored only after the platform took the cosignature


async def test_a_wrong_pinned_key_refuses_every_checkpoint(
    client: httpx.AsyncClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    other = settings.model_copy(update={"data_dir": tmp_path / "elsewhere"})
    witness = await _witness(client, db, tmp_path / "s.json", log_key=log_vkey(other))
    await grow(db, settings, 1)
    with pytest.raises(WitnessError, match="not signed by the pinned log key"):
        await witness.run_once()
    assert await _cosignature_sizes(db) == []


async def test_two_roots_for_one_size_is_a_fork(
    client: httpx.AsyncClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    witness = await _witness(client, db, state_file)
    await grow(db, settings, 4)
    # The witness was once shown a different size-4 tree, signed with the log's own key.
    seen = forged_note(settings, 4)
    _remember(state_file, witness.name, settings, seen)
    with pytest.raises(ForkDetected, match="LOG FORK DETECTED: two roots for size 4") as caught:
        await witness.run_once()
    assert caught.value.reported
    assert WitnessState.load(state_file).note == seen.decode()  # type: ignore[union-attr]
    assert await _cosignature_sizes(db) == []
    async with db.transaction() as session:
        incident = (await session.scalars(select(Incident))).one()
    assert incident.summary == "two signed checkpoints of size 4 with different roots"
    assert incident.reported_by == witness.name


async def test_a_failed_consistency_proof_is_a_fork(
    client: httpx.AsyncClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    witness = await _witness(client, db, state_file)
    await grow(db, settings, 6)
    _remember(state_file, witness.name, settings, forged_note(settings, 3))
    with pytest.raises(ForkDetected, match="consistency proof from size 3 to 6 fails"):
        await witness.run_once()
    async with db.transaction() as session:
        incident = (await session.scalars(select(Incident))).one()
    assert incident.summary == "a signed checkpoint of size 3 has a root this log never had"
    assert len(incident.evidence["proof"]) > 0


def _remember(state_file: Path, name: str, settings: Settings, note: bytes) -> None:
    decoded = SignedNote.decode(note)
    lines = decoded.body.decode().split("\n")
    WitnessState(
        name=name,
        log_vkey=log_vkey(settings),
        origin=lines[0],
        size=int(lines[1]),
        root=lines[2],
        note=note.decode(),
    ).save(state_file)


def test_a_damaged_state_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{")
    with pytest.raises(WitnessError, match="is damaged"):
        WitnessState.load(tmp_path / "state.json")
    (tmp_path / "state.json").write_text('{"version": 9}')
    with pytest.raises(WitnessError, match="unknown version"):
        WitnessState.load(tmp_path / "state.json")
