"""Authorization cases for witnesses, cosignatures, forks, incidents, time stamps and anchors.

Cosignatures and fork reports need no token: what authorizes them is a valid signature
(a registered witness's cosignature; this log's own signature on contradicting
checkpoints).  The matrix app's log key lives in the test's own data directory, which a
`prepare` cannot reach, so their rows check that an anonymous call is answered (422 for
evidence that does not verify) and changes nothing; accepted submissions are tested in
tests/ledger/test_witness_platform.py.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from citywitness.access.permissions import Permission
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.ledger.anchors_models import CheckpointTimestamp
from citywitness.ledger.models import LedgerCheckpoint
from citywitness.ledger.note import Checkpoint, CosignatureSigner, NoteSigner, SignedNote
from citywitness.ledger.witness_models import Cosignature, Incident, Witness
from tests.authz.matrix import Actor, Case, Prepared, department_case, public_case

P = Permission
PLATFORM_ONLY = "ledger:admin must be held platform-wide: only platform admins (tested apart)"
PUBLIC_READ = "the log is one for the whole platform: ledger:read anywhere reads it"
SIGNATURE_IS_AUTH = "no token needed: the signature is checked; unverifiable evidence is 422"


def _witness_key() -> CosignatureSigner:
    return CosignatureSigner(
        f"w{secrets.token_hex(4)}.example/witness", Ed25519PrivateKey.generate()
    )


async def new_witness(_db: Database, _caller: Actor | None) -> Prepared:
    signer = _witness_key()
    return Prepared(json={"name": signer.name, "vkey": signer.verifier_key()})


async def cosigned_checkpoint(db: Database, _caller: Actor | None) -> Prepared:
    """A checkpoint (signed by some key) with one witness's cosignature, stored directly."""
    size = secrets.randbelow(2**40) + 2**41  # clear of any real checkpoint
    root = hashlib.sha256(secrets.token_bytes(8)).digest()
    body = Checkpoint("matrix.citywitness/log", size, root).body()
    log_signer = NoteSigner("matrix.citywitness/log", Ed25519PrivateKey.generate())
    note = SignedNote(body, (log_signer.sign(body),))
    witness_signer = _witness_key()
    cosignature = witness_signer.cosign(body, 1_800_000_000)
    async with db.transaction() as session:
        session.add(LedgerCheckpoint(size=size, root=root, note=note.encode()))
        witness = Witness(
            id=uuid.uuid4(), name=witness_signer.name, vkey=witness_signer.verifier_key()
        )
        session.add(witness)
        await session.flush()
        session.add(
            Cosignature(
                witness_id=witness.id,
                size=size,
                root=root,
                timestamp=1_800_000_000,
                signature=cosignature.signature,
            )
        )
        session.add(
            CheckpointTimestamp(
                size=size,
                root=root,
                tsa_url="http://tsa.invalid/",
                token=b"\x30\x00",
                gen_time=utcnow(),
                serial_number="1",
                policy="1.2.3",
            )
        )
    return Prepared(path={"size": str(size)})


async def an_incident(db: Database, _caller: Actor | None) -> Prepared:
    async with db.transaction() as session:
        incident = Incident(
            id=uuid.uuid4(),
            kind="fork",
            severity="critical",
            size=1,
            summary="matrix",
            fingerprint=secrets.token_hex(32),
            evidence={},
        )
        session.add(incident)
    return Prepared(path={"incident_id": str(incident.id)}, json={"note": "looked into it"})


async def unsigned_note(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(json={"note": "not a note"})


async def unsigned_fork(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(json={"notes": ["not a note"], "witness": "matrix"})


CASES: list[Case] = [
    department_case(
        "POST",
        "/api/v1/ledger/witnesses",
        P.LEDGER_ADMIN,
        new_witness,
        success=403,
        note=PLATFORM_ONLY,
    ),
    department_case("GET", "/api/v1/ledger/witnesses", P.LEDGER_READ, other=200, note=PUBLIC_READ),
    public_case(
        "POST", "/api/v1/ledger/cosignatures", unsigned_note, success=422, note=SIGNATURE_IS_AUTH
    ),
    public_case("POST", "/api/v1/ledger/forks", unsigned_fork, success=422, note=SIGNATURE_IS_AUTH),
    department_case(
        "GET",
        "/api/v1/ledger/checkpoint/cosigned",
        P.LEDGER_READ,
        cosigned_checkpoint,
        other=200,
        note=PUBLIC_READ,
    ),
    department_case(
        "GET",
        "/api/v1/ledger/checkpoints/{size}/cosigned",
        P.LEDGER_READ,
        cosigned_checkpoint,
        other=200,
        note=PUBLIC_READ,
    ),
    department_case(
        "GET",
        "/api/v1/ledger/checkpoints/{size}/timestamp",
        P.LEDGER_READ,
        cosigned_checkpoint,
        other=200,
        note=PUBLIC_READ,
    ),
    department_case(
        "GET",
        "/api/v1/ledger/checkpoints/{size}/anchors",
        P.LEDGER_READ,
        cosigned_checkpoint,
        other=200,
        note=PUBLIC_READ,
    ),
    department_case("GET", "/api/v1/ledger/incidents", P.LEDGER_READ, other=200, note=PUBLIC_READ),
    department_case(
        "POST",
        "/api/v1/ledger/incidents/{incident_id}/acknowledge",
        P.LEDGER_ADMIN,
        an_incident,
        success=403,
        note=PLATFORM_ONLY,
    ),
]
