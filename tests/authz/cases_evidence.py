"""Authorization cases for evidence records, search, playback and derivatives (matrix.py).

The target is a SENSITIVE video of HOME (so LOW_CLEARANCE gets 404).  Every non-admin role
carries evidence:read, so WITHOUT_PERMISSION for read endpoints is a token whose scopes
leave it out: the item is then invisible (404), or the list refused (403).
"""

from __future__ import annotations

import secrets

from sqlalchemy import select

from citywitness.access.permissions import Permission
from citywitness.evidence.models import Category, EvidenceItem
from citywitness.evidence.tasks import build_derivatives
from citywitness.kit.db import Database
from citywitness.settings import EvidenceSettings
from tests.authz.matrix import Actor, Case, Prepared, department_case, object_case
from tests.evidence.core.helpers import register, shared_store
from tests.evidence.core.samples import make_mp4

P = Permission
REASON = {"reason": "authorization matrix"}


async def _item(db: Database, *, derivatives: bool = False) -> EvidenceItem:
    store = shared_store(db)
    data = make_mp4(1.0, width=64, height=48, audio=False, nonce=secrets.token_hex(8))
    item = (await register(db, store, data, classification="sensitive")).item
    if derivatives:
        await build_derivatives(db, store, EvidenceSettings(), item.id)
    return item


async def an_item(db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(path={"evidence_id": str((await _item(db)).id)})


async def an_item_to_change(db: Database, _caller: Actor | None) -> Prepared:
    item = await _item(db)
    return Prepared(path={"evidence_id": str(item.id)}, json={"notes": "reviewed"})


async def content_to_play(db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(path={"evidence_id": str((await _item(db)).id)}, params=REASON)


async def with_derivatives(db: Database, _caller: Actor | None) -> Prepared:
    item = await _item(db, derivatives=True)
    return Prepared(path={"evidence_id": str(item.id)}, params=REASON)


async def a_category_policy(db: Database, _caller: Actor | None) -> Prepared:
    async with db.transaction() as session:
        category = await session.scalar(select(Category).where(Category.code == "non-evidentiary"))
    assert category is not None
    return Prepared(path={"category_id": str(category.id)}, json={"retention_days": 1})


async def a_search(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(params={"q": "night"})


CASES: list[Case] = [
    department_case("GET", "/api/v1/evidence", P.EVIDENCE_READ, a_search, other=200),
    department_case("GET", "/api/v1/evidence/categories", P.EVIDENCE_READ, other=200),
    department_case(
        "PATCH",
        "/api/v1/evidence/categories/{category_id}",
        P.EVIDENCE_MANAGE,
        a_category_policy,
        success=403,
        note=(
            "categories are platform-wide: evidence:manage must be held in every department "
            "(a platform admin; tested in tests/evidence/core/test_category_policy.py)"
        ),
    ),
    object_case(
        "GET",
        "/api/v1/evidence/{evidence_id}",
        P.EVIDENCE_READ,
        an_item,
        without=404,
        classified=True,
    ),
    object_case(
        "PATCH",
        "/api/v1/evidence/{evidence_id}",
        P.EVIDENCE_MANAGE,
        an_item_to_change,
        classified=True,
    ),
    object_case(
        "GET",
        "/api/v1/evidence/{evidence_id}/content",
        P.EVIDENCE_PLAY,
        content_to_play,
        classified=True,
        note="inline play; downloads need evidence:download (tests/evidence/core)",
    ),
    object_case(
        "HEAD",
        "/api/v1/evidence/{evidence_id}/content",
        P.EVIDENCE_PLAY,
        an_item,
        classified=True,
        note="headers only, no reason needed; audited as evidence.read",
    ),
    object_case(
        "GET",
        "/api/v1/evidence/{evidence_id}/thumbnail",
        P.EVIDENCE_READ,
        with_derivatives,
        without=404,
        classified=True,
    ),
    object_case(
        "GET",
        "/api/v1/evidence/{evidence_id}/proxy",
        P.EVIDENCE_PLAY,
        with_derivatives,
        classified=True,
    ),
    object_case(
        "HEAD",
        "/api/v1/evidence/{evidence_id}/proxy",
        P.EVIDENCE_PLAY,
        with_derivatives,
        classified=True,
    ),
]
