"""Face watch lists: persons per department, enrolment from photos, the matching switch.

Reading needs watchlists:read in the person's department (outside it a person does not
exist: 404); changing needs watchlists:manage; switching face matching on or off needs
watchlists:manage as a department admin (or platform admin). Everything is audited with
ids only, never names or faces. Enrolment keeps the embedding and the photo's SHA-256,
not the photo.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ActionForbidden, ObjectNotVisible
from citywitness.access.levels import Role
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import (
    ensure_permitted,
    require,
    visible_filter,
    visible_or_404,
)
from citywitness.analysis.departments import ensure_known
from citywitness.analysis.face_watchlist import enrol_photo
from citywitness.analysis.face_watchlist_models import (
    FaceMatchingPolicy,
    FaceWatchPerson,
    FaceWatchPhoto,
)
from citywitness.audit.service import Auditor
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import Conflict, ValidationFailed

PERSON = "face_watch_person"
POLICY = "face_matching_policy"
MAX_LIFETIME = timedelta(days=366)
MAX_PHOTOS = 10


class InvalidExpiry(ValidationFailed):
    """A watch-list person must expire in the future, within 366 days."""

    code = "invalid_expiry"


class PersonRemoved(Conflict):
    """The person was removed from the watch list."""

    code = "person_removed"


class TooManyPhotos(Conflict):
    """A person has at most 10 enrolled photos."""

    code = "too_many_photos"


@dataclass(frozen=True, slots=True)
class Policy:
    department_id: uuid.UUID
    enabled: bool
    changed_by: uuid.UUID | None
    changed_at: datetime | None


def _check_expiry(expires_at: datetime) -> None:
    now = utcnow()
    if expires_at.tzinfo is None or not now < expires_at <= now + MAX_LIFETIME:
        raise InvalidExpiry(fields={"expires_at": "a time zone-aware time in the next 366 days"})


def _permit(principal: Principal, permission: Permission, department_id: uuid.UUID) -> None:
    require(principal, permission)
    ensure_permitted(
        principal, permission, department_id=department_id, object_type=PERSON, object_id="new"
    )


async def create_person(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    *,
    department_id: uuid.UUID,
    label: str,
    reason: str,
    expires_at: datetime,
) -> FaceWatchPerson:
    _permit(principal, Permission.WATCHLISTS_MANAGE, department_id)
    await ensure_known(session, department_id, in_path=False)
    _check_expiry(expires_at)
    person = FaceWatchPerson(
        id=uuid.uuid4(),
        department_id=department_id,
        label=label,
        reason=reason,
        added_by=principal.user_id,
        expires_at=expires_at,
    )
    session.add(person)
    await session.flush()
    await session.refresh(person)
    await auditor.record(
        "watchlists.faces.create",
        object_type=PERSON,
        object_id=person.id,
        department_id=department_id,
    )
    return person


async def _visible_person(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID, *, lock: bool = False
) -> FaceWatchPerson:
    query = select(FaceWatchPerson).where(FaceWatchPerson.id == person_id)
    person = (
        await session.execute(query.with_for_update() if lock else query)
    ).scalar_one_or_none()
    return visible_or_404(
        person, principal, Permission.WATCHLISTS_READ, object_type=PERSON, object_id=person_id
    )


async def _managed_person(
    session: AsyncSession, principal: Principal, person_id: uuid.UUID
) -> FaceWatchPerson:
    person = await _visible_person(session, principal, person_id, lock=True)
    ensure_permitted(
        principal,
        Permission.WATCHLISTS_MANAGE,
        department_id=person.department_id,
        object_type=PERSON,
        object_id=person.id,
    )
    if person.removed_at is not None:
        raise PersonRemoved
    return person


async def photos_of(session: AsyncSession, person_id: uuid.UUID) -> list[FaceWatchPhoto]:
    query = (
        select(FaceWatchPhoto)
        .where(FaceWatchPhoto.person_id == person_id)
        .order_by(FaceWatchPhoto.created_at, FaceWatchPhoto.id)
    )
    return list((await session.execute(query)).scalars())


async def get_person(
    session: AsyncSession, principal: Principal, auditor: Auditor, person_id: uuid.UUID
) -> tuple[FaceWatchPerson, list[FaceWatchPhoto]]:
    person = await _visible_person(session, principal, person_id)
    await auditor.record(
        "watchlists.faces.read",
        object_type=PERSON,
        object_id=person.id,
        department_id=person.department_id,
    )
    return person, await photos_of(session, person.id)


async def list_persons(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    *,
    department_id: uuid.UUID | None = None,
    active_only: bool = True,
) -> list[FaceWatchPerson]:
    """Persons in scope; ``active_only`` leaves out the removed and the expired."""
    require(principal, Permission.WATCHLISTS_READ, action="watchlists.faces.list")
    where = [
        visible_filter(
            principal, Permission.WATCHLISTS_READ, department_column=FaceWatchPerson.department_id
        )
    ]
    if department_id is not None:
        where.append(FaceWatchPerson.department_id == department_id)
    if active_only:
        where += [FaceWatchPerson.removed_at.is_(None), FaceWatchPerson.expires_at > utcnow()]
    query = select(FaceWatchPerson).where(*where)
    rows = list(
        (
            await session.execute(query.order_by(FaceWatchPerson.created_at.desc()).limit(1000))
        ).scalars()
    )
    await auditor.record("watchlists.faces.list", object_type=PERSON, details={"count": len(rows)})
    return rows


async def update_person(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    person_id: uuid.UUID,
    changes: dict[str, object],
) -> FaceWatchPerson:
    """Change label, reason or expiry (``changes`` holds only the fields sent)."""
    person = await _managed_person(session, principal, person_id)
    expires_at = changes.get("expires_at")
    if isinstance(expires_at, datetime):
        _check_expiry(expires_at)
    for name, value in changes.items():
        if value is None:
            raise ValidationFailed(fields={name: "may not be null"})
        setattr(person, name, value)
    person.updated_at = utcnow()
    await session.flush()
    await auditor.record(
        "watchlists.faces.update",
        object_type=PERSON,
        object_id=person.id,
        department_id=person.department_id,
        details={"changed": sorted(changes)},
    )
    return person


async def remove_person(
    session: AsyncSession, principal: Principal, auditor: Auditor, person_id: uuid.UUID
) -> None:
    """Take a person off the list (kept, marked removed: findings refer to the id); their
    embeddings are deleted at once."""
    person = await _managed_person(session, principal, person_id)
    person.removed_at = utcnow()
    person.removed_by = principal.user_id
    for photo in await photos_of(session, person.id):
        await session.delete(photo)
    await session.flush()
    await auditor.record(
        "watchlists.faces.remove",
        object_type=PERSON,
        object_id=person.id,
        department_id=person.department_id,
    )


async def add_photo(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    person_id: uuid.UUID,
    photo: bytes,
) -> FaceWatchPhoto:
    """Enrol one photo (exactly one face in it); the photo is not kept."""
    person = await _managed_person(session, principal, person_id)
    if len(await photos_of(session, person.id)) >= MAX_PHOTOS:
        raise TooManyPhotos
    enrolled = await asyncio.to_thread(enrol_photo, photo)
    row = FaceWatchPhoto(
        id=uuid.uuid4(),
        person_id=person.id,
        embedding=[float(v) for v in enrolled.embedding],
        photo_sha256=enrolled.photo_sha256,
        face_box=enrolled.box.as_dict(),
        detector_score=round(enrolled.score, 4),
        added_by=principal.user_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await auditor.record(
        "watchlists.faces.photo_add",
        object_type=PERSON,
        object_id=person.id,
        department_id=person.department_id,
        details={"photo_id": str(row.id)},
    )
    return row


async def delete_photo(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    person_id: uuid.UUID,
    photo_id: uuid.UUID,
) -> None:
    person = await _managed_person(session, principal, person_id)
    photo = await session.get(FaceWatchPhoto, photo_id)
    if photo is None or photo.person_id != person.id:
        err = ObjectNotVisible("no such photo")
        err.refusing(Permission.WATCHLISTS_MANAGE.value, PERSON, str(person.id))
        raise err
    await session.delete(photo)
    await session.flush()
    await auditor.record(
        "watchlists.faces.photo_remove",
        object_type=PERSON,
        object_id=person.id,
        department_id=person.department_id,
        details={"photo_id": str(photo_id)},
    )


async def get_policy(
    session: AsyncSession, principal: Principal, auditor: Auditor, department_id: uuid.UUID
) -> Policy:
    _permit(principal, Permission.WATCHLISTS_READ, department_id)
    await ensure_known(session, department_id, in_path=True)
    row = await session.get(FaceMatchingPolicy, department_id)
    await auditor.record(
        "watchlists.faces.policy_read",
        object_type=POLICY,
        object_id=department_id,
        department_id=department_id,
    )
    if row is None:
        return Policy(department_id, enabled=False, changed_by=None, changed_at=None)
    return Policy(department_id, row.enabled, row.changed_by, row.changed_at)


def _ensure_department_admin(principal: Principal, department_id: uuid.UUID) -> None:
    admin_roles = {Role.DEPARTMENT_ADMIN, Role.PLATFORM_ADMIN}
    if principal.is_platform_admin or admin_roles & principal.roles.get(department_id, set()):
        return
    err = ActionForbidden("switching face matching needs a department admin")
    err.refusing("watchlists.faces.policy_set", POLICY, str(department_id))
    raise err


async def set_policy(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    department_id: uuid.UUID,
    *,
    enabled: bool,
) -> Policy:
    """Switch face matching on or off for a department (a department admin's decision)."""
    _permit(principal, Permission.WATCHLISTS_MANAGE, department_id)
    _ensure_department_admin(principal, department_id)
    await ensure_known(session, department_id, in_path=True)
    row = await session.get(FaceMatchingPolicy, department_id, with_for_update=True)
    now = utcnow()
    if row is None:
        row = FaceMatchingPolicy(department_id=department_id, enabled=enabled)
        session.add(row)
    row.enabled, row.changed_by, row.changed_at = enabled, principal.user_id, now
    await session.flush()
    await auditor.record(
        "watchlists.faces.policy_set",
        object_type=POLICY,
        object_id=department_id,
        department_id=department_id,
        details={"enabled": enabled},
    )
    return Policy(department_id, enabled, principal.user_id, now)
