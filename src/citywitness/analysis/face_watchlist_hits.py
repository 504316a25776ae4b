"""Face-match candidates of a watch-listed person: the findings that named them.

A face finding that came within the calibrated distance of a person's enrolment carries
``attributes["watchlist"]["entry_id"]`` (the person's id) and is a *candidate* for human
confirmation, never an identification.  Seeing them needs faces:match in the person's
department (besides watchlists:read to see the person at all), and only findings on
evidence the caller may analyse (analysis:read, within clearance) are returned.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted, visible_or_404
from citywitness.analysis import findings
from citywitness.analysis.face_watchlist_models import FaceWatchPerson
from citywitness.analysis.models import StoredFinding
from citywitness.audit.service import Auditor

PERSON = "face_watch_person"


async def candidate_hits(
    session: AsyncSession, principal: Principal, auditor: Auditor, person_id: uuid.UUID
) -> list[StoredFinding]:
    """Face findings that were candidates for this person, newest first (at most 500)."""
    person = visible_or_404(
        await session.get(FaceWatchPerson, person_id),
        principal,
        Permission.WATCHLISTS_READ,
        object_type=PERSON,
        object_id=person_id,
    )
    ensure_permitted(
        principal,
        Permission.FACES_MATCH,
        department_id=person.department_id,
        object_type=PERSON,
        object_id=person.id,
    )
    found = await findings.watchlist_hits(session, principal, "faces", person.id)
    await auditor.record(
        "watchlists.faces.hits",
        object_type=PERSON,
        object_id=person.id,
        department_id=person.department_id,
        details={"count": len(found), "evidence": sorted({str(f.evidence_id) for f in found})},
    )
    return found
