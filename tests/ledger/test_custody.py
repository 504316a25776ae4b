"""Custody hooks: an item's life in the evidence domain appears in the log, and
GET /evidence/{id}/custody returns it with proofs that verify against the signed checkpoint."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime

import httpx
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.evidence.derivative_models import Derivative
from citywitness.evidence.lifecycle_tasks import run_retention
from citywitness.evidence.models import DestructionCertificate
from citywitness.evidence.tasks import build_derivatives
from citywitness.kit.db import Database
from citywitness.ledger import merkle
from citywitness.ledger.canonical import canonical_json
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.models import LedgerEntry
from citywitness.ledger.note import Checkpoint, NoteVerifier, SignedNote
from citywitness.ledger.sequencer import sequence_all
from citywitness.settings import EvidenceSettings, Settings
from tests.evidence.core.helpers import register, shared_store
from tests.evidence.core.samples import make_mp4
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor

API = "/api/v1/evidence"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_an_items_life_is_in_the_log(
    db: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    store = shared_store(db)
    item = (await register(db, store, make_mp4(1.0, width=64, height=48, audio=False))).item
    investigator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.INVESTIGATOR]})
    approver = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    who = str(investigator.user.id)
    url = f"{API}/{item.id}"
    changed = await client.patch(
        url, json={"notes": "seen", "classification": "secret"}, headers=investigator.headers
    )
    assert changed.status_code == 200, changed.text
    played = await client.get(
        f"{url}/content", params={"reason": "case 42"}, headers=investigator.headers
    )
    assert played.status_code == 200
    assert (await client.head(f"{url}/content", headers=investigator.headers)).status_code == 200
    hold = (
        await client.post(f"{url}/holds", json={"reason": "court"}, headers=investigator.headers)
    ).json()
    released = await client.post(
        f"{API}/holds/{hold['id']}/release", json={"reason": "done"}, headers=investigator.headers
    )
    assert released.status_code == 200
    request = (
        await client.post(f"{url}/deletion", json={"reason": "old"}, headers=investigator.headers)
    ).json()
    approved = (
        await client.post(f"{API}/deletions/{request['id']}/approve", headers=approver.headers)
    ).json()
    done = await run_retention(
        db, store, review_days=7, now=datetime.fromisoformat(approved["review_until"])
    )
    assert done.outcomes == {"destroyed": 1}
    before = await client.get(f"{url}/custody", headers=investigator.headers)
    assert (before.status_code, before.json()["error"]) == (404, "checkpoint_not_found")
    await sequence_all(db, settings)

    got = await client.get(f"{url}/custody", headers=investigator.headers)
    assert got.status_code == 200, got.text
    custody = got.json()
    leaves = [entry["leaf"] for entry in custody["entries"]]
    assert [leaf["kind"] for leaf in leaves] == [
        "evidence.ingested",
        "evidence.metadata_changed",
        "evidence.classified",
        "evidence.played",
        "evidence.hold_placed",
        "evidence.hold_released",
        "evidence.destroyed",
    ]
    assert {leaf["object"]["id"] for leaf in leaves} == {str(item.id)}
    assert {leaf["department"] for leaf in leaves} == {str(PUBLIC_SECURITY)}
    assert [leaf["actor"] for leaf in leaves] == [
        {"kind": "system", "id": None},
        *[{"kind": "user", "id": who}] * 5,
        {"kind": "system", "id": None},
    ]
    ingested, metadata, classified, play, placed, release, destroyed = (
        leaf["details"] for leaf in leaves
    )
    assert ingested == {
        "sha256": item.sha256,
        "size_bytes": item.size_bytes,
        "kind": "video",
        "channel": "dock",
        "classification": ingested["classification"],
    }
    assert metadata["changed"] == ["classification", "notes"]
    assert "seen" not in str(metadata)  # notes never reach the log
    assert classified == {"classification": "secret"}
    assert play == {
        "range": None,
        "bytes": item.size_bytes,
        "reason_sha256": _sha("case 42"),
    }
    assert placed == {"hold_id": hold["id"], "reason_sha256": _sha("court")}
    assert release == {"hold_id": hold["id"], "reason_sha256": _sha("done")}
    async with db.transaction() as session:
        certificate = await session.scalar(
            select(DestructionCertificate).where(DestructionCertificate.evidence_id == item.id)
        )
    assert certificate is not None
    assert destroyed["certificate_id"] == str(certificate.id)
    assert destroyed["sha256"] == item.sha256
    assert destroyed["reason_sha256"] == _sha("old")
    assert len(destroyed["certificate_sha256"]) == 64

    note = SignedNote.decode(custody["checkpoint"]["note"].encode())
    assert NoteVerifier.from_vkey(log_vkey(settings)).verify(note)
    checkpoint = Checkpoint.parse(note.body)
    assert custody["pending"] == 0
    for entry in custody["entries"]:
        leaf_hash = merkle.leaf_hash(canonical_json(entry["leaf"]))
        assert base64.b64decode(entry["leaf_hash"]) == leaf_hash
        proof = [base64.b64decode(h) for h in entry["inclusion_proof"]]
        assert merkle.verify_inclusion(
            leaf_hash, entry["index"], checkpoint.size, proof, checkpoint.root
        )

    stranger = await make_actor(db, roles={TRAFFIC_POLICE: [Role.INVESTIGATOR]})
    hidden = await client.get(f"{url}/custody", headers=stranger.headers)
    assert hidden.status_code == 404
    entry = await client.get(
        f"/api/v1/ledger/entries/{custody['entries'][0]['index']}", headers=stranger.headers
    )
    assert entry.status_code == 404
    mine = await client.get(
        f"/api/v1/ledger/entries/{custody['entries'][0]['index']}", headers=investigator.headers
    )
    assert mine.json()["leaf"] == leaves[0]


async def test_derivatives_are_in_the_log(db: Database) -> None:
    store = shared_store(db)
    item = (await register(db, store, make_mp4(1.0, width=64, height=48, audio=False))).item
    await build_derivatives(db, store, EvidenceSettings(), item.id)
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(LedgerEntry.kind, LedgerEntry.leaf)
                .where(LedgerEntry.object_id == str(item.id))
                .order_by(LedgerEntry.id)
            )
        ).all()
    made = {
        json.loads(leaf)["details"]["kind"]: json.loads(leaf)["details"]
        for kind, leaf in rows
        if kind == "evidence.derivative_created"
    }
    assert rows[0][0] == "evidence.ingested"
    assert set(made) == {"thumbnail", "proxy"}
    async with db.transaction() as session:
        found = {
            d.kind: d
            for d in await session.scalars(
                select(Derivative).where(Derivative.evidence_id == item.id)
            )
        }
    for kind, details in made.items():
        assert details == {
            "kind": kind,
            "sha256": found[kind].sha256,
            "size_bytes": found[kind].size_bytes,
        }


async def test_sharing_an_item_and_ending_the_share_are_in_the_log(
    db: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    store = shared_store(db)
    item = (await register(db, store, make_mp4(1.0, width=64, height=48, audio=False))).item
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.DEPARTMENT_ADMIN]})
    body = {
        "object_type": "evidence",
        "object_id": str(item.id),
        "permission": "evidence:read",
        "grantee_department_id": str(TRAFFIC_POLICE),
        "reason": "joint investigation",
    }
    granted = await client.post("/api/v1/grants", json=body, headers=admin.headers)
    assert granted.status_code == 201, granted.text
    grant_id = granted.json()["id"]
    revoked = await client.delete(f"/api/v1/grants/{grant_id}", headers=admin.headers)
    assert revoked.status_code == 200, revoked.text
    await sequence_all(db, settings)

    custody = (await client.get(f"{API}/{item.id}/custody", headers=admin.headers)).json()

    leaves = [entry["leaf"] for entry in custody["entries"]]
    assert [leaf["kind"] for leaf in leaves] == [
        "evidence.ingested",
        "evidence.shared",
        "evidence.unshared",
    ]
    share = {
        "grant_id": grant_id,
        "permission": "evidence:read",
        "grantee_user_id": None,
        "grantee_department_id": str(TRAFFIC_POLICE),
    }
    assert leaves[1]["details"] == {
        **share,
        "expires_at": None,
        "reason_sha256": _sha("joint investigation"),
    }
    assert leaves[2]["details"] == share
    assert [leaf["actor"] for leaf in leaves[1:]] == [
        {"kind": "user", "id": str(admin.user.id)}
    ] * 2
