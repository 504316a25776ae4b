"""Authorization cases for live sessions (see matrix.py).

A session belongs to HOME (its recorder's department).  Reading sessions and reports needs
evidence:read there, the live view (playlist, init, segments) media:live; out of scope is
404, as is a caller who lacks the permission (the session does not exist for them), and a
clearance below the item's classification (internal).  The recorder-side routes take a
device credential, never a user's: every user caller gets 401.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from citywitness.access.permissions import Permission
from citywitness.audit.service import Auditor
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.media import sessions
from citywitness.media.ingest import SegmentUpload, ingest_segment
from citywitness.media.models import SegmentFormat
from citywitness.media.schemas import SessionOpenIn
from tests.authz.matrix import HOME, Actor, Caller, Case, Prepared, department_case, object_case
from tests.devices.helpers import make_enrolled
from tests.evidence.core.helpers import shared_store
from tests.media.helpers import Pieces, make_pieces, open_body, sha

P = Permission
ONE = "/api/v1/media/sessions/{session_id}"
DEVICE = "/api/v1/devices/self/sessions"


@cache
def _pieces() -> Pieces:
    return make_pieces(Path(tempfile.mkdtemp(prefix="cw-authz-media-")), SegmentFormat.FMP4)


async def a_session(db: Database, _caller: Actor | None) -> Prepared:
    """A live fMP4 session of a HOME recorder with segment 0 stored."""
    pieces = _pieces()
    store = shared_store(db)
    device = await make_enrolled(db, HOME)
    assert pieces.init is not None
    init_sha = await sessions.store_init(store, pieces.init)
    async with db.transaction() as session:
        opened = await sessions.open_session(
            session,
            Auditor(session=session, actor=None, actor_kind="device"),
            device.identity,
            SessionOpenIn.model_validate(open_body(pieces)),
            init_sha256=init_sha,
            init_size=len(pieces.init),
            now=utcnow(),
        )
    live = opened.live
    upload = SegmentUpload(live.id, 0, sha(pieces.segments[0]), live.genesis, pieces.segments[0])
    await ingest_segment(db, store, device.identity, upload, max_seconds=10)
    return Prepared(path={"session_id": str(live.id), "name": "0.m4s"})


async def open_request(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(json={"format": "ts"})


async def segment_request(db: Database, caller: Actor | None) -> Prepared:
    found = await a_session(db, caller)
    segment = _pieces().segments[1]
    return Prepared(
        path={**found.path, "seq": "1"},
        content=segment,
        headers={"CW-Segment-SHA256": sha(segment), "CW-Prev-SHA256": sha(_pieces().segments[0])},
    )


def device_case(method: str, route: str, prepare: object) -> Case:
    """A recorder-side route: user credentials are not device credentials."""
    expect = {Caller.ANONYMOUS: 401, Caller.OTHER_DEPARTMENT: 401, Caller.WITH_PERMISSION: 401}
    return Case(method, route, None, expect, prepare, "needs Authorization: Device")  # type: ignore[arg-type]


CASES: list[Case] = [
    device_case("POST", DEVICE, open_request),
    device_case("GET", DEVICE + "/{session_id}", a_session),
    device_case("PUT", DEVICE + "/{session_id}/segments/{seq}", segment_request),
    device_case("POST", DEVICE + "/{session_id}/end", a_session),
    department_case(
        "GET",
        "/api/v1/media/sessions",
        P.EVIDENCE_READ,
        a_session,
        other=200,
        note="the list holds only sessions in scope (tests/media/test_live_view.py)",
    ),
    object_case("GET", ONE, P.EVIDENCE_READ, a_session, without=404, classified=True),
    object_case("GET", ONE + "/reports", P.EVIDENCE_READ, a_session, without=404, classified=True),
    object_case("GET", ONE + "/live.m3u8", P.MEDIA_LIVE, a_session, without=404, classified=True),
    object_case("GET", ONE + "/init.mp4", P.MEDIA_LIVE, a_session, without=404, classified=True),
    object_case(
        "GET", ONE + "/segments/{name}", P.MEDIA_LIVE, a_session, without=404, classified=True
    ),
]
