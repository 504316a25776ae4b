"""Authorization cases for redactions (matrix.py).

The target is a SENSITIVE video item of HOME (LOW_CLEARANCE gets 404) with a redaction in
the state the call needs, written straight to the database (no job runs).  Callers without
redaction:review (or redaction:publish) anywhere get 403; a department that holds it but
does not own the item gets 404.
"""

from __future__ import annotations

import secrets
import uuid

from citywitness.access.permissions import Permission
from citywitness.analysis.redaction_models import Redaction, RedactionState, RedactionTrack
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from tests.authz.matrix import Actor, Case, Prepared, object_case
from tests.evidence.core.helpers import put_bytes, register, shared_store
from tests.evidence.core.samples import make_mp4
from tests.factories import make_user

P = Permission
BOX = {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}


async def _item(db: Database) -> EvidenceItem:
    data = make_mp4(1.0, width=64, height=48, audio=False, nonce=secrets.token_hex(8))
    return (await register(db, shared_store(db), data, classification="sensitive")).item


async def _redaction(db: Database, state: RedactionState) -> tuple[Redaction, RedactionTrack]:
    item = await _item(db)
    derivative = None
    if state is RedactionState.RENDERED:
        derivative = await put_bytes(shared_store(db), secrets.token_bytes(64))
    async with db.transaction() as session:
        owner = await make_user(session)
        redaction = Redaction(
            id=uuid.uuid4(),
            evidence_id=item.id,
            department_id=item.department_id,
            state=state,
            mode="blur",
            faces=True,
            plates=True,
            every=2,
            mute=[],
            original_sha256=item.sha256,
            plan_sha256="0" * 64 if derivative else None,
            derivative_sha256=derivative.sha256 if derivative else None,
            derivative_size=derivative.size if derivative else None,
            requested_by=owner.id,
        )
        session.add(redaction)
        await session.flush()
        track = RedactionTrack(
            id=uuid.uuid4(),
            redaction_id=redaction.id,
            label="face",
            source="auto",
            start_s=0.0,
            end_s=1.0,
            keyframes=[{"t": 0.5, **BOX}],
            removed=False,
        )
        session.add(track)
    return redaction, track


async def a_video(db: Database, _caller: Actor | None) -> Prepared:
    item = await _item(db)
    return Prepared(path={"evidence_id": str(item.id)}, json={"faces": False, "plates": False})


async def an_item_path(db: Database, _caller: Actor | None) -> Prepared:
    redaction, _ = await _redaction(db, RedactionState.REVIEW)
    return Prepared(path={"evidence_id": str(redaction.evidence_id)})


async def in_review(db: Database, _caller: Actor | None) -> Prepared:
    redaction, _ = await _redaction(db, RedactionState.REVIEW)
    return Prepared(path={"redaction_id": str(redaction.id)})


async def new_track(db: Database, caller: Actor | None) -> Prepared:
    found = await in_review(db, caller)
    return Prepared(path=found.path, json={"start_s": 0.0, "end_s": 1.0, "box": BOX})


async def a_track(db: Database, _caller: Actor | None) -> Prepared:
    redaction, track = await _redaction(db, RedactionState.REVIEW)
    path = {"redaction_id": str(redaction.id), "track_id": str(track.id)}
    return Prepared(path=path, json={"end_s": 0.9})


async def mute(db: Database, caller: Actor | None) -> Prepared:
    found = await in_review(db, caller)
    return Prepared(path=found.path, json={"ranges": [{"start_s": 0.1, "end_s": 0.4}]})


async def rendered(db: Database, _caller: Actor | None) -> Prepared:
    redaction, _ = await _redaction(db, RedactionState.RENDERED)
    return Prepared(path={"redaction_id": str(redaction.id)})


ITEM = "/api/v1/evidence/{evidence_id}/redactions"
ONE = "/api/v1/redactions/{redaction_id}"
TRACK = ONE + "/tracks/{track_id}"
R = P.REDACTION_REVIEW

CASES: list[Case] = [
    object_case("POST", ITEM, R, a_video, success=202, classified=True),
    object_case("GET", ITEM, R, an_item_path, classified=True),
    object_case("GET", ONE, R, in_review, classified=True),
    object_case("GET", ONE + "/tracks", R, in_review, classified=True),
    object_case("POST", ONE + "/tracks", R, new_track, success=201, classified=True),
    object_case("PATCH", TRACK, R, a_track, classified=True),
    object_case("DELETE", TRACK, R, a_track, success=204, classified=True),
    object_case("PUT", ONE + "/mute", R, mute, classified=True),
    object_case("GET", ONE + "/mute-suggestions", R, in_review, classified=True),
    object_case("POST", ONE + "/render", R, in_review, success=202, classified=True),
    object_case("POST", ONE + "/publish", P.REDACTION_PUBLISH, rendered, classified=True),
    object_case("GET", ONE + "/video", R, rendered, classified=True),
]
