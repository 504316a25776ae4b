"""Console API: face watch lists (persons, enrolment photos) and the face-matching switch."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from citywitness.analysis import face_watchlist_service as service
from citywitness.analysis.face_watchlist_hits import candidate_hits
from citywitness.analysis.face_watchlist_models import FaceWatchPerson, FaceWatchPhoto
from citywitness.analysis.models import StoredFinding
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import PayloadTooLarge, ValidationFailed
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/watchlists/faces", tags=["watchlists"])

MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("image/jpeg", "image/png", "image/webp", "image/bmp")
        },
    }
}

Label = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PersonCreate(_Body):
    department_id: uuid.UUID
    label: Label = Field(description="How investigators refer to the person (a name or alias).")
    reason: Reason = Field(description="Why the person is on the list (warrant, case number).")
    expires_at: datetime = Field(description="When the entry stops matching (within 366 days).")


class PersonUpdate(_Body):
    label: Label | None = None
    reason: Reason | None = None
    expires_at: datetime | None = None


class PhotoOut(BaseModel):
    """An enrolled photo: where the face was and the photo's hash; never the picture or the
    embedding."""

    id: uuid.UUID
    photo_sha256: str
    face_box: dict[str, float]
    detector_score: float
    added_by: uuid.UUID
    created_at: datetime

    @classmethod
    def of(cls, photo: FaceWatchPhoto) -> PhotoOut:
        return cls(
            id=photo.id,
            photo_sha256=photo.photo_sha256,
            face_box=photo.face_box,
            detector_score=photo.detector_score,
            added_by=photo.added_by,
            created_at=photo.created_at,
        )


class PersonOut(BaseModel):
    id: uuid.UUID
    department_id: uuid.UUID
    label: str
    reason: str
    added_by: uuid.UUID
    created_at: datetime
    expires_at: datetime
    removed_at: datetime | None
    active: bool = Field(description="Matching now: not removed and not expired.")
    photos: list[PhotoOut] | None = Field(default=None, description="Only on a single person.")

    @classmethod
    def of(cls, person: FaceWatchPerson, photos: list[FaceWatchPhoto] | None = None) -> PersonOut:
        return cls(
            id=person.id,
            department_id=person.department_id,
            label=person.label,
            reason=person.reason,
            added_by=person.added_by,
            created_at=person.created_at,
            expires_at=person.expires_at,
            removed_at=person.removed_at,
            active=person.removed_at is None and person.expires_at > utcnow(),
            photos=None if photos is None else [PhotoOut.of(p) for p in photos],
        )


class PersonList(BaseModel):
    items: list[PersonOut]


class PolicyIn(_Body):
    enabled: bool


class PolicyOut(BaseModel):
    department_id: uuid.UUID
    enabled: bool = Field(description="Face matching on for this department (default: off).")
    changed_by: uuid.UUID | None
    changed_at: datetime | None


@router.get(
    "/persons",
    summary="List watch-listed persons in scope.",
    description="Needs watchlists:read; only persons of departments where it is held.",
    response_model=PersonList,
    responses=error_responses(401, 403, 422),
)
async def get_persons(
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    department_id: uuid.UUID | None = None,
    active_only: bool = True,
) -> PersonList:
    rows = await service.list_persons(
        session, principal, auditor, department_id=department_id, active_only=active_only
    )
    return PersonList(items=[PersonOut.of(p) for p in rows])


@router.post(
    "/persons",
    status_code=201,
    summary="Put a person on a department's face watch list (then enrol photos).",
    description="Needs watchlists:manage in the department. 422 invalid_expiry.",
    response_model=PersonOut,
    responses=error_responses(401, 403, 422),
)
async def post_person(
    body: PersonCreate, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> PersonOut:
    person = await service.create_person(
        session,
        principal,
        auditor,
        department_id=body.department_id,
        label=body.label,
        reason=body.reason,
        expires_at=body.expires_at,
    )
    return PersonOut.of(person, [])


@router.get(
    "/persons/{person_id}",
    summary="Read a watch-listed person and their enrolled photos.",
    description="Needs watchlists:read in the person's department (404 outside scope).",
    response_model=PersonOut,
    responses=error_responses(401, 404, 422),
)
async def get_person(
    person_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> PersonOut:
    person, photos = await service.get_person(session, principal, auditor, person_id)
    return PersonOut.of(person, photos)


@router.patch(
    "/persons/{person_id}",
    summary="Change a person's label, reason or expiry.",
    description="Needs watchlists:manage in the person's department. 409 person_removed.",
    response_model=PersonOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def patch_person(
    person_id: uuid.UUID,
    body: PersonUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> PersonOut:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    person = await service.update_person(session, principal, auditor, person_id, changes)
    return PersonOut.of(person, await service.photos_of(session, person.id))


@router.delete(
    "/persons/{person_id}",
    status_code=204,
    response_class=Response,
    summary="Take a person off the watch list; their embeddings are deleted.",
    description="Needs watchlists:manage in the person's department. 409 person_removed.",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def delete_person(
    person_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> Response:
    await service.remove_person(session, principal, auditor, person_id)
    return Response(status_code=204)


async def _photo_bytes(request: Request) -> bytes:
    if not request.headers.get("content-type", "").startswith("image/"):
        raise ValidationFailed(fields={"content-type": "send the photo as image/jpeg, png..."})
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_PHOTO_BYTES:
            raise PayloadTooLarge("a photo may be at most 10 MiB")
    return bytes(data)


class CandidateOut(BaseModel):
    """A face finding that came within the matching threshold of the person: a candidate."""

    finding_id: int
    evidence_id: uuid.UUID
    offset_s: float
    confidence: float
    distance: float | None
    threshold: float | None
    review_state: str | None = Field(description="confirmed / rejected once a person decided.")
    created_at: datetime

    @classmethod
    def of(cls, finding: StoredFinding) -> CandidateOut:
        watch = finding.attributes.get("watchlist") or {}
        return cls(
            finding_id=finding.id,
            evidence_id=finding.evidence_id,
            offset_s=finding.offset_s,
            confidence=finding.confidence,
            distance=watch.get("distance"),
            threshold=watch.get("threshold"),
            review_state=finding.review,
            created_at=finding.created_at,
        )


class CandidatePage(BaseModel):
    items: list[CandidateOut]


@router.get(
    "/persons/{person_id}/hits",
    summary="Face-match candidates for a watch-listed person (for human confirmation).",
    description=(
        "Needs watchlists:read and faces:match in the person's department; only findings on "
        "evidence the caller may analyse (analysis:read) are returned, newest first (at most "
        "500). A candidate is never an identification."
    ),
    response_model=CandidatePage,
    responses=error_responses(401, 403, 404, 422),
)
async def get_hits(
    person_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> CandidatePage:
    found = await candidate_hits(session, principal, auditor, person_id)
    return CandidatePage(items=[CandidateOut.of(f) for f in found])


@router.post(
    "/persons/{person_id}/photos",
    status_code=201,
    summary="Enrol a photo of the person (exactly one face in it).",
    description=(
        "Needs watchlists:manage. The body is the image (JPEG, PNG, WebP, BMP; at most 10 "
        "MiB). Only the face's embedding and the photo's SHA-256 are kept, not the photo. "
        "422 no_face, several_faces, face_too_small or photo_unreadable; 409 too_many_photos."
    ),
    response_model=PhotoOut,
    responses=error_responses(401, 403, 404, 409, 413, 422),
    openapi_extra=PHOTO_BODY,
)
async def post_photo(
    person_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> PhotoOut:
    data = await _photo_bytes(request)
    return PhotoOut.of(await service.add_photo(session, principal, auditor, person_id, data))


@router.delete(
    "/persons/{person_id}/photos/{photo_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an enrolled photo (its embedding).",
    description="Needs watchlists:manage in the person's department.",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def delete_photo(
    person_id: uuid.UUID,
    photo_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> Response:
    await service.delete_photo(session, principal, auditor, person_id, photo_id)
    return Response(status_code=204)


def _policy_out(policy: service.Policy) -> PolicyOut:
    return PolicyOut(
        department_id=policy.department_id,
        enabled=policy.enabled,
        changed_by=policy.changed_by,
        changed_at=policy.changed_at,
    )


@router.get(
    "/policy/{department_id}",
    summary="Whether the department matches faces against its watch list.",
    description="Needs watchlists:read in the department. Default: off.",
    response_model=PolicyOut,
    responses=error_responses(401, 403, 404, 422),
)
async def get_policy(
    department_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> PolicyOut:
    return _policy_out(await service.get_policy(session, principal, auditor, department_id))


@router.put(
    "/policy/{department_id}",
    summary="Switch face matching on or off for a department.",
    description="Needs watchlists:manage as a department admin (or platform admin) there.",
    response_model=PolicyOut,
    responses=error_responses(401, 403, 404, 422),
)
async def put_policy(
    department_id: uuid.UUID,
    body: PolicyIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> PolicyOut:
    policy = await service.set_policy(
        session, principal, auditor, department_id, enabled=body.enabled
    )
    return _policy_out(policy)
