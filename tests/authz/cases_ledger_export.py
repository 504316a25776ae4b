"""Authorization cases for export packages requested over the API (matrix.py).

A request names a SENSITIVE video of HOME: evidence:export is needed on it (OTHER_DEPARTMENT
and LOW_CLEARANCE: 404; WITHOUT_PERMISSION holds evidence:export nowhere: 403).  An export
is seen only by its requester (and platform admins): the prepared export belongs to the
caller when the caller may export in HOME (WITH_PERMISSION), else to a HOME investigator, so
OTHER_DEPARTMENT gets 404.  Exports have no classification of their own (no LOW_CLEARANCE
row for them); the package download needs a built export, so its prepare runs the job.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from citywitness.access.levels import Role
from citywitness.access.permissions import Permission
from citywitness.audit.service import Auditor
from citywitness.evidence.exports_build import build_export
from citywitness.evidence.exports_service import ExportRequest, request_export
from citywitness.identity.principals import load_principal
from citywitness.kit.db import Database
from citywitness.settings import Settings
from tests.authz.cases_evidence import _item
from tests.authz.matrix import HOME, Actor, Case, Prepared, department_case, object_case
from tests.evidence.core.helpers import shared_store
from tests.factories import make_actor

P = Permission
REASON = "authorization matrix"
_DATA = tempfile.TemporaryDirectory(prefix="cw-authz-exports-")
OWNERS = "an export is seen only by its requester (and platform admins)"


async def a_request(db: Database, _caller: Actor | None) -> Prepared:
    item = await _item(db)
    return Prepared(json={"items": [str(item.id)], "reason": REASON})


async def _export(db: Database, caller: Actor | None) -> uuid.UUID:
    """An export of a HOME item, requested by the caller if they may export in HOME."""
    item = await _item(db)
    owner = caller
    async with db.transaction() as session:
        if caller is not None:
            principal = await load_principal(session, caller.user)
            if not principal.has_in(P.EVIDENCE_EXPORT, HOME):
                owner = None
    if owner is None:
        owner = await make_actor(db, roles={HOME: [Role.INVESTIGATOR]})
    async with db.transaction() as session:
        principal = await load_principal(session, owner.user)
        auditor = Auditor(session=session, actor=principal, actor_kind="user")
        export = await request_export(
            session, principal, auditor, ExportRequest(REASON, items=[item.id]), max_items=10
        )
        return export.id


async def an_export(db: Database, caller: Actor | None) -> Prepared:
    return Prepared(path={"export_id": str(await _export(db, caller))})


async def a_built_export(db: Database, caller: Actor | None) -> Prepared:
    export_id = await _export(db, caller)
    settings = Settings(data_dir=Path(_DATA.name))
    assert await build_export(db, settings, shared_store(db), export_id, runs=1) == "done"
    return Prepared(path={"export_id": str(export_id)})


CASES: list[Case] = [
    object_case(
        "POST",
        "/api/v1/exports",
        P.EVIDENCE_EXPORT,
        a_request,
        success=202,
        classified=True,
        note="evidence:export on every item; outside the caller's scope: 404",
    ),
    department_case(
        "GET", "/api/v1/exports", P.EVIDENCE_EXPORT, other=200, note="the caller's own exports"
    ),
    object_case("GET", "/api/v1/exports/{export_id}", P.EVIDENCE_EXPORT, an_export, note=OWNERS),
    object_case(
        "GET",
        "/api/v1/exports/{export_id}/package",
        P.EVIDENCE_EXPORT,
        a_built_export,
        note=OWNERS + "; audited",
    ),
    object_case(
        "DELETE",
        "/api/v1/exports/{export_id}",
        P.EVIDENCE_EXPORT,
        an_export,
        success=204,
        note=OWNERS + "; a queued export is discarded before it is built",
    ),
]
