"""Authorization cases for tus uploads (see matrix.py).

An upload belongs to its creator while they hold evidence:upload in its department:
anyone else (and the creator without that permission) gets 404.  `prepare` creates the
upload as the calling user, so the 404 rows prove the department check, not only the
ownership one (tests/evidence/ingest/test_tus.py covers another user's upload).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from citywitness.access.permissions import Permission
from citywitness.evidence.models import Upload, UploadState
from citywitness.evidence.tus_protocol import TUS_VERSION, encode_metadata
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.authz.matrix import (
    HOME,
    Actor,
    Case,
    Prepared,
    department_case,
    object_case,
    public_case,
)
from tests.factories import make_user

P = Permission
TUS = {"Tus-Resumable": TUS_VERSION}


async def creation(_db: Database, _caller: Actor | None) -> Prepared:
    metadata = encode_metadata({"filename": "report.pdf", "department": str(HOME)})
    return Prepared(headers={**TUS, "Upload-Length": "1000", "Upload-Metadata": metadata})


async def _own_upload(db: Database, caller: Actor | None) -> uuid.UUID:
    async with db.transaction() as session:
        owner = caller.user.id if caller else (await make_user(session)).id
        upload_id = uuid.uuid4()
        session.add(
            Upload(
                id=upload_id,
                storage_upload_id=upload_id.hex,
                created_by=owner,
                department_id=HOME,
                upload_length=1000,
                upload_offset=0,
                metadata_={"filename": "report.pdf"},
                state=UploadState.OPEN,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    return upload_id


async def own_upload(db: Database, caller: Actor | None) -> Prepared:
    return Prepared(path={"upload_id": str(await _own_upload(db, caller))}, headers=TUS)


async def own_upload_bytes(db: Database, caller: Actor | None) -> Prepared:
    headers = {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    upload_id = await _own_upload(db, caller)
    return Prepared(path={"upload_id": str(upload_id)}, headers=headers, content=b"%PDF-1.4\n")


OWNED = "only the creator, holding evidence:upload in the upload's department, sees it"

CASES: list[Case] = [
    public_case("OPTIONS", "/api/v1/uploads", success=204, note="tus discovery is open (no data)"),
    department_case("POST", "/api/v1/uploads", P.EVIDENCE_UPLOAD, creation, success=201),
    object_case(
        "HEAD",
        "/api/v1/uploads/{upload_id}",
        P.EVIDENCE_UPLOAD,
        own_upload,
        without=404,
        note=OWNED,
    ),
    object_case(
        "PATCH",
        "/api/v1/uploads/{upload_id}",
        P.EVIDENCE_UPLOAD,
        own_upload_bytes,
        success=204,
        without=404,
        note=OWNED,
    ),
    object_case(
        "DELETE",
        "/api/v1/uploads/{upload_id}",
        P.EVIDENCE_UPLOAD,
        own_upload,
        success=204,
        without=404,
        note=OWNED,
    ),
]
