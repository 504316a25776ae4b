"""The ledger over HTTP: checkpoints, key, proofs, entries, tiles and entry bundles."""

from __future__ import annotations

import base64
import uuid

import httpx
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.kit.db import Database
from citywitness.ledger import merkle, service
from citywitness.ledger.canonical import canonical_json
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.models import LedgerLeaf
from citywitness.ledger.note import Checkpoint, NoteVerifier, SignedNote
from citywitness.ledger.sequencer import sequence
from citywitness.ledger.tree import TileRef, tiles_from_leaves
from citywitness.settings import Settings
from tests.factories import PUBLIC_SECURITY, Actor, make_actor
from tests.ledger.helpers import event

API = "/api/v1/ledger"


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


async def _grow(db: Database, settings: Settings, start: int, end: int) -> None:
    async with db.transaction() as session:
        await service.append_many(session, [event(n) for n in range(start, end)])
    await sequence(db, settings)


async def _hashes(db: Database) -> list[bytes]:
    async with db.transaction() as session:
        rows = await session.scalars(select(LedgerLeaf.leaf_hash).order_by(LedgerLeaf.leaf_index))
        return [bytes(r) for r in rows]


async def _reader(db: Database) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: [Role.AUDITOR]})


async def test_checkpoints_and_key(
    db: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    reader = await _reader(db)
    missing = await client.get(f"{API}/checkpoint", headers=reader.headers)
    assert (missing.status_code, missing.json()["error"]) == (404, "checkpoint_not_found")
    await _grow(db, settings, 0, 5)
    await _grow(db, settings, 5, 9)
    key = await client.get(f"{API}/key", headers=reader.headers)
    assert key.text == log_vkey(settings) + "\n"
    verifier = NoteVerifier.from_vkey(key.text)
    latest = await client.get(f"{API}/checkpoint", headers=reader.headers)
    assert latest.headers["content-type"].startswith("text/plain")
    note = SignedNote.decode(latest.content)
    assert verifier.verify(note)
    checkpoint = Checkpoint.parse(note.body)
    assert (checkpoint.origin, checkpoint.size) == ("demo.citywitness/log", 9)
    assert checkpoint.root == merkle.root_from_leaves(await _hashes(db))
    older = await client.get(f"{API}/checkpoints/5", headers=reader.headers)
    assert older.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert Checkpoint.parse(SignedNote.decode(older.content).body).size == 5
    none = await client.get(f"{API}/checkpoints/7", headers=reader.headers)
    assert (none.status_code, none.json()["error"]) == (404, "checkpoint_not_found")


async def test_proofs_from_the_api_verify(
    db: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    reader = await _reader(db)
    await _grow(db, settings, 0, 300)
    await _grow(db, settings, 300, 777)
    hashes = await _hashes(db)
    root = merkle.root_from_leaves(hashes)
    for index, size in ((0, None), (299, 300), (256, None), (776, None), (10, 11)):
        got = await client.get(
            f"{API}/proof/inclusion",
            params={"index": index, **({"size": size} if size else {})},
            headers=reader.headers,
        )
        assert got.status_code == 200, got.text
        body = got.json()
        tree_size = size or 777
        assert (body["index"], body["size"]) == (index, tree_size)
        assert _b64(body["leaf_hash"]) == hashes[index]
        assert _b64(body["root"]) == merkle.root_from_leaves(hashes[:tree_size])
        proof = [_b64(h) for h in body["hashes"]]
        assert merkle.verify_inclusion(
            hashes[index], index, tree_size, proof, merkle.root_from_leaves(hashes[:tree_size])
        )
    consistency = await client.get(
        f"{API}/proof/consistency", params={"old": 300}, headers=reader.headers
    )
    body = consistency.json()
    assert (body["old"], body["new"]) == (300, 777)
    old_root = merkle.root_from_leaves(hashes[:300])
    assert _b64(body["old_root"]) == old_root
    proof = [_b64(h) for h in body["hashes"]]
    assert merkle.verify_consistency(300, 777, proof, old_root, root)
    for params in ({"index": 777}, {"index": 5, "size": 778}):
        bad = await client.get(f"{API}/proof/inclusion", params=params, headers=reader.headers)
        assert (bad.status_code, bad.json()["error"]) == (400, "invalid_proof_request")
    bad = await client.get(f"{API}/proof/consistency", params={"old": 800}, headers=reader.headers)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_proof_request")


async def test_tiles_match_the_reference(
    db: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    reader = await _reader(db)
    await _grow(db, settings, 0, 600)
    reference = tiles_from_leaves(await _hashes(db))
    for path, ref in (
        ("0/000", TileRef(0, 0, 256)),
        ("0/001", TileRef(0, 1, 256)),
        ("0/002.p/88", TileRef(0, 2, 88)),
        ("0/002.p/10", TileRef(0, 2, 10)),
        ("1/000.p/2", TileRef(1, 0, 2)),
    ):
        got = await client.get(
            f"{API}/{merkle.tile_path(ref.level, ref.index, ref.width)}", headers=reader.headers
        )
        assert got.status_code == 200, path
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.content == b"".join(reference(ref))
    for path in ("0/002", "0/002.p/89", "1/000", "2/000.p/1", "0/2", "0/002.p/0", "0/x000/002"):
        missing = await client.get(f"{API}/tile/{path}", headers=reader.headers)
        assert (missing.status_code, missing.json()["error"]) == (404, "tile_not_found"), path


async def test_entry_bundles_need_ledger_read_all_platform_wide(
    db: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    await _grow(db, settings, 0, 3)
    reader = await _reader(db)
    refused = await client.get(f"{API}/tile/entries/000.p/3", headers=reader.headers)
    assert refused.status_code == 403
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.PLATFORM_ADMIN]})
    bundle = (await client.get(f"{API}/tile/entries/000.p/3", headers=admin.headers)).content
    leaves, rest = [], bundle
    while rest:
        length = int.from_bytes(rest[:2], "big")
        leaves.append(rest[2 : 2 + length])
        rest = rest[2 + length :]
    assert [merkle.leaf_hash(leaf) for leaf in leaves] == await _hashes(db)


async def test_entries_are_scoped_to_their_object(
    db: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    """An entry about an object no domain resolves is visible only with ledger:read_all."""
    await _grow(db, settings, 0, 2)
    reader = await _reader(db)
    hidden = await client.get(f"{API}/entries/1", headers=reader.headers)
    assert hidden.status_code == 404
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.PLATFORM_ADMIN]})
    got = await client.get(f"{API}/entries/1", headers=admin.headers)
    assert got.status_code == 200
    body = got.json()
    assert body["index"] == 1
    assert body["leaf"]["object"] == {"type": "evidence", "id": str(uuid.UUID(int=1))}
    assert merkle.leaf_hash(canonical_json(body["leaf"])) == _b64(body["leaf_hash"])
    beyond = await client.get(f"{API}/entries/2", headers=admin.headers)
    assert (beyond.status_code, beyond.json()["error"]) == (404, "entry_not_found")
