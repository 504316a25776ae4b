"""Authorization cases for the ledger core: checkpoints, key, proofs, entries, tiles, custody.

The log is one for the whole platform, so ledger:read held in any department reads its
checkpoints, proofs and hash tiles (OTHER_DEPARTMENT: 200).  An entry is about an object: it is
404 to whoever may not see that object (here a SENSITIVE video of HOME).  Entry bundles need
ledger:read_all platform-wide (tests/ledger/test_api.py); the matrix tries a hash tile.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from citywitness.access.permissions import Permission
from citywitness.kit.db import Database
from citywitness.ledger.models import LedgerEntry, LedgerLeaf
from citywitness.ledger.note import NoteSigner
from citywitness.ledger.sequencer import sequence_once
from tests.authz.cases_evidence import _item
from tests.authz.matrix import Actor, Case, Prepared, department_case, object_case

P = Permission
WHOLE_LOG = "the log is one for the whole platform: ledger:read in any department reads it"
SIGNER = NoteSigner("matrix.citywitness/log", Ed25519PrivateKey.generate())


async def _logged_item(db: Database) -> tuple[str, int]:
    """A SENSITIVE item of HOME whose ingest is in the log: (item id, its leaf index)."""
    item = await _item(db)
    async with db.transaction() as session:
        await sequence_once(session, SIGNER, batch_size=10_000)
        index = await session.scalar(
            select(LedgerLeaf.leaf_index)
            .join(LedgerEntry, LedgerEntry.id == LedgerLeaf.entry_id)
            .where(LedgerEntry.object_id == str(item.id))
        )
    assert index is not None
    return str(item.id), int(index)


async def a_log(db: Database, _caller: Actor | None) -> Prepared:
    _, index = await _logged_item(db)
    return Prepared(path={"size": str(index + 1)}, params={"index": "0", "old": "1"})


async def an_entry(db: Database, _caller: Actor | None) -> Prepared:
    _, index = await _logged_item(db)
    return Prepared(path={"index": str(index)})


async def a_tile(db: Database, _caller: Actor | None) -> Prepared:
    await _logged_item(db)
    return Prepared(path={"tile_path": "0/000.p/1"})


async def an_items_custody(db: Database, _caller: Actor | None) -> Prepared:
    item_id, _ = await _logged_item(db)
    return Prepared(path={"evidence_id": item_id})


def _log_case(route: str, prepare=a_log) -> Case:  # type: ignore[no-untyped-def]
    return department_case("GET", route, P.LEDGER_READ, prepare, other=200, note=WHOLE_LOG)


CASES: list[Case] = [
    _log_case("/api/v1/ledger/checkpoint"),
    _log_case("/api/v1/ledger/checkpoints/{size}"),
    _log_case("/api/v1/ledger/key"),
    _log_case("/api/v1/ledger/proof/inclusion"),
    _log_case("/api/v1/ledger/proof/consistency"),
    _log_case("/api/v1/ledger/tile/{tile_path}", a_tile),
    object_case(
        "GET",
        "/api/v1/ledger/entries/{index}",
        P.LEDGER_READ,
        an_entry,
        classified=True,
        note="ledger:read, and the entry's object must be visible (evidence:read here)",
    ),
    object_case(
        "GET",
        "/api/v1/evidence/{evidence_id}/custody",
        P.EVIDENCE_READ,
        an_items_custody,
        without=404,
        classified=True,
        note="custody is evidence data: evidence:read on the item, no ledger permission",
    ),
]
