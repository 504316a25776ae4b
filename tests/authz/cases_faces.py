"""Authorization cases for face watch lists (see matrix.py): reading needs watchlists:read in
the person's department (else 404), changing needs watchlists:manage (403 for one who can
see it); switching face matching needs watchlists:manage as a department admin."""

from __future__ import annotations

import functools
import tarfile
import uuid
from datetime import timedelta
from pathlib import Path

from citywitness.access.permissions import Permission
from citywitness.analysis.face_watchlist_models import FaceWatchPerson, FaceWatchPhoto
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.authz.matrix import HOME, Case, Prepared, department_case, object_case
from tests.factories import Actor, make_user

P = Permission
BASE = "/api/v1/watchlists/faces"
SDIST = Path(__file__).parents[2] / ".cache/testdata/face_recognition-1.3.0.tar.gz"


@functools.cache
def _photo() -> bytes:
    with tarfile.open(SDIST) as tar:
        member = tar.extractfile("face_recognition-1.3.0/tests/test_images/obama.jpg")
        assert member is not None
        return member.read()


def _expiry() -> str:
    return (utcnow() + timedelta(days=30)).isoformat()


async def new_person(_db: Database, _caller: Actor | None) -> Prepared:
    body = {"department_id": str(HOME), "label": "A", "reason": "warrant", "expires_at": _expiry()}
    return Prepared(json=body)


async def _home_person(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with db.transaction() as session:
        owner = await make_user(session)
        person = FaceWatchPerson(
            id=uuid.uuid4(),
            department_id=HOME,
            label="A",
            reason="warrant",
            added_by=owner.id,
            expires_at=utcnow() + timedelta(days=30),
        )
        session.add(person)
        await session.flush()
        photo = FaceWatchPhoto(
            id=uuid.uuid4(),
            person_id=person.id,
            embedding=[0.0] * 128,
            photo_sha256="0" * 64,
            face_box={"x": 0.1, "y": 0.1, "w": 0.5, "h": 0.5},
            detector_score=0.9,
            added_by=owner.id,
        )
        session.add(photo)
    return person.id, photo.id


async def home_person(db: Database, _caller: Actor | None) -> Prepared:
    person_id, _ = await _home_person(db)
    return Prepared(path={"person_id": str(person_id)}, json={"reason": "warrant 2"})


async def home_photo(db: Database, _caller: Actor | None) -> Prepared:
    person_id, photo_id = await _home_person(db)
    return Prepared(path={"person_id": str(person_id), "photo_id": str(photo_id)})


async def photo_upload(db: Database, _caller: Actor | None) -> Prepared:
    person_id, _ = await _home_person(db)
    return Prepared(
        path={"person_id": str(person_id)},
        headers={"content-type": "image/jpeg"},
        content=_photo(),
    )


async def home_policy(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(path={"department_id": str(HOME)}, json={"enabled": True})


PERSON = f"{BASE}/persons/{{person_id}}"

CASES: list[Case] = [
    department_case("GET", f"{BASE}/persons", P.WATCHLISTS_READ, other=200, note="in scope"),
    department_case("POST", f"{BASE}/persons", P.WATCHLISTS_MANAGE, new_person, success=201),
    object_case("GET", PERSON, P.WATCHLISTS_READ, home_person, without=404),
    object_case("PATCH", PERSON, P.WATCHLISTS_MANAGE, home_person),
    object_case("DELETE", PERSON, P.WATCHLISTS_MANAGE, home_person, success=204),
    object_case(
        "POST",
        f"{PERSON}/photos",
        P.WATCHLISTS_MANAGE,
        photo_upload,
        success=201,
        note="enrols a real photo (CenterFace + dlib)",
    ),
    object_case(
        "DELETE", f"{PERSON}/photos/{{photo_id}}", P.WATCHLISTS_MANAGE, home_photo, success=204
    ),
    object_case(
        "GET",
        f"{PERSON}/hits",
        P.FACES_MATCH,
        home_person,
        note="roles without faces:match here still read the person: 403",
    ),
    department_case("GET", f"{BASE}/policy/{{department_id}}", P.WATCHLISTS_READ, home_policy),
    department_case(
        "PUT",
        f"{BASE}/policy/{{department_id}}",
        P.WATCHLISTS_MANAGE,
        home_policy,
        note="with-permission roles include the department admin the switch needs",
    ),
]
