"""Authorization cases for transcripts (matrix.py).

The target is a SENSITIVE item of HOME with one stored speech finding, so LOW_CLEARANCE gets
404.  The roles without analysis:read (officer, auditor) all hold evidence:read: they see
the item, so they get 403.
"""

from __future__ import annotations

import secrets

from citywitness.access.permissions import Permission
from citywitness.analysis import findings
from citywitness.analysis.contracts import Finding
from citywitness.analysis.speech import WHISPER
from citywitness.kit.db import Database
from tests.authz.matrix import Actor, Case, Prepared, object_case
from tests.evidence.core.helpers import register, shared_store
from tests.evidence.core.samples import make_mp4

P = Permission


async def a_transcribed_item(db: Database, _caller: Actor | None) -> Prepared:
    data = make_mp4(1.0, width=64, height=48, audio=False, nonce=secrets.token_hex(8))
    item = (await register(db, shared_store(db), data, classification="sensitive")).item
    segment = Finding(
        "speech", "speech", 0.5, 0.7, WHISPER.ref(), duration_s=1.0, attributes={"text": "help"}
    )
    async with db.transaction() as session:
        await findings.store(
            session,
            evidence_id=item.id,
            department_id=item.department_id,
            run_id=None,
            segment_sha256=None,
            findings=[segment],
        )
    return Prepared(path={"evidence_id": str(item.id)})


CASES: list[Case] = [
    object_case(
        "GET",
        "/api/v1/evidence/{evidence_id}/transcript",
        P.ANALYSIS_READ,
        a_transcribed_item,
        classified=True,
    ),
    object_case(
        "GET",
        "/api/v1/evidence/{evidence_id}/transcript.vtt",
        P.ANALYSIS_READ,
        a_transcribed_item,
        classified=True,
    ),
]
