"""Face watch lists in memory, matching, and their loaders (database, folder of photos).

A match is a *candidate* for a person to confirm, never an identification. Calibration
(``bench/bench_faces.py`` on the real photos of the face_recognition 1.3.0 sdist, with our
CenterFace boxes and dlib's 5-point alignment): the same person is 0.28-0.44 apart, two
different people 0.81-0.87. dlib documents 0.6 as its decision threshold (99.38 % on LFW);
we take a stricter 0.55, which leaves a margin of 0.11 above the farthest same-person pair
and 0.26 below the closest different-person pair: for a suspect list a missed candidate
costs less than a wrong one.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.analysis.contracts import Box
from citywitness.analysis.face_detect import FaceDetector
from citywitness.analysis.face_embed import FaceEmbedder
from citywitness.analysis.face_watchlist_models import (
    FaceMatchingPolicy,
    FaceWatchPerson,
    FaceWatchPhoto,
)
from citywitness.kit.clock import utcnow
from citywitness.kit.errors import ValidationFailed

LIST_NAME = "faces"
DEFAULT_THRESHOLD = 0.55
MIN_ENROL_FACE_PX = 60
MAX_PHOTO_PIXELS = 40_000_000
_PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


class PhotoUnreadable(ValidationFailed):
    """The photo is not an image we can read (JPEG, PNG, BMP, WebP)."""

    code = "photo_unreadable"


class NoFace(ValidationFailed):
    """No face was found in the photo: enrol a clear, frontal photo of one person."""

    code = "no_face"


class SeveralFaces(ValidationFailed):
    """More than one face is in the photo: crop it to the one person to enrol."""

    code = "several_faces"


class FaceTooSmall(ValidationFailed):
    """The face is too small to enrol reliably (at least 60 pixels wide)."""

    code = "face_too_small"


@dataclass(frozen=True, slots=True)
class EnrolledFace:
    """What enrolment keeps of a photo: the embedding and provenance, not the picture."""

    embedding: NDArray[np.float32]
    photo_sha256: str
    box: Box
    score: float


def read_photo(data: bytes) -> NDArray[np.uint8]:
    """An RGB array of an uploaded photo, upright per its EXIF orientation."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PHOTO_PIXELS:
                raise PhotoUnreadable(fields={"photo": "larger than 40 megapixels"})
            upright = ImageOps.exif_transpose(img).convert("RGB")
            return np.asarray(upright, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise PhotoUnreadable(fields={"photo": "not a readable image"}) from exc


def enrol_photo(
    data: bytes,
    *,
    detector: FaceDetector | None = None,
    embedder: FaceEmbedder | None = None,
) -> EnrolledFace:
    """The one face of an enrolment photo; ``NoFace``/``SeveralFaces``/``FaceTooSmall``."""
    image = read_photo(data)
    faces = (detector or FaceDetector()).detect(image)
    if not faces:
        raise NoFace(fields={"photo": "no face found"})
    if len(faces) > 1:
        raise SeveralFaces(fields={"photo": f"{len(faces)} faces found"})
    face = faces[0]
    if face.box.w * image.shape[1] < MIN_ENROL_FACE_PX:
        raise FaceTooSmall(fields={"photo": "the face is under 60 pixels wide"})
    embedding = (embedder or FaceEmbedder(jitters=5)).embed(image, face)
    return EnrolledFace(embedding, hashlib.sha256(data).hexdigest(), face.box, face.score)


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One person on a list: an id (a UUID, or the folder name for lists read from disk),
    why they are on it, until when, and the embeddings of their enrolled photos."""

    entry_id: str
    reason: str
    embeddings: NDArray[np.float32]  # (photos, 128)
    expires_at: datetime | None = None
    department_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class FaceMatch:
    entry: WatchEntry
    distance: float
    threshold: float

    def attributes(self) -> dict[str, object]:
        """The finding's ``watchlist`` attribute: a candidate, never an identification."""
        return {
            "list": LIST_NAME,
            "entry_id": self.entry.entry_id,
            "reason": self.entry.reason,
            "distance": round(self.distance, 4),
            "threshold": self.threshold,
            "candidate": True,
            "needs_confirmation": True,
        }


@dataclass
class FaceWatchlist:
    """Persons to look for; ``match`` returns the nearest within ``threshold``, if any."""

    entries: Sequence[WatchEntry]
    threshold: float = DEFAULT_THRESHOLD
    _matrix: NDArray[np.float32] = field(init=False, repr=False)
    _owner: NDArray[np.intp] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rows = [e.embeddings for e in self.entries if len(e.embeddings)]
        self._matrix = (
            np.concatenate(rows).astype(np.float32)
            if rows
            else np.zeros((0, 128), dtype=np.float32)
        )
        self._owner = np.concatenate(
            [np.full(len(e.embeddings), i, dtype=np.intp) for i, e in enumerate(self.entries)]
            or [np.zeros(0, dtype=np.intp)]
        )

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, vector: NDArray[np.float32], *, at: datetime | None = None) -> FaceMatch | None:
        """The nearest person in force at ``at`` (now) within the threshold, else None."""
        if not len(self._matrix):
            return None
        when = at or utcnow()
        distances = np.linalg.norm(self._matrix - vector[None, :].astype(np.float32), axis=1)
        for row in np.argsort(distances):
            if distances[row] > self.threshold:
                return None
            entry = self.entries[int(self._owner[row])]
            if entry.expires_at is None or entry.expires_at > when:
                return FaceMatch(entry, float(distances[row]), self.threshold)
        return None


def from_path(directory: Path) -> FaceWatchlist:
    """A list read from ``directory``: one sub-folder of photos per person (CLI)."""
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory of per-person photo folders")
    detector, embedder = FaceDetector(), FaceEmbedder(jitters=5)
    entries = []
    for person in sorted(p for p in directory.iterdir() if p.is_dir()):
        photos = sorted(p for p in person.iterdir() if p.suffix.lower() in _PHOTO_SUFFIXES)
        vectors = []
        for photo in photos:
            try:
                enrolled = enrol_photo(photo.read_bytes(), detector=detector, embedder=embedder)
            except ValidationFailed as exc:
                raise ValueError(f"{photo}: {exc.code} ({exc.detail})") from exc
            vectors.append(enrolled.embedding)
        if vectors:
            entries.append(WatchEntry(person.name, "", np.stack(vectors)))
    return FaceWatchlist(entries)


async def enabled_departments(
    session: AsyncSession, department_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Those of ``department_ids`` whose face matching is switched on (default: off)."""
    rows = await session.scalars(
        select(FaceMatchingPolicy.department_id).where(
            FaceMatchingPolicy.department_id.in_(list(department_ids)),
            FaceMatchingPolicy.enabled.is_(True),
        )
    )
    return list(rows)


async def from_db(
    session: AsyncSession, department_ids: Sequence[uuid.UUID]
) -> FaceWatchlist | None:
    """The persons in force for departments with face matching on; None when all are off."""
    enabled = await enabled_departments(session, department_ids)
    if not enabled:
        return None
    now = utcnow()
    rows = await session.execute(
        select(FaceWatchPerson, FaceWatchPhoto.embedding)
        .join(FaceWatchPhoto, FaceWatchPhoto.person_id == FaceWatchPerson.id)
        .where(
            FaceWatchPerson.department_id.in_(enabled),
            FaceWatchPerson.removed_at.is_(None),
            FaceWatchPerson.expires_at > now,
        )
        .order_by(FaceWatchPerson.id, FaceWatchPhoto.created_at)
    )
    grouped: dict[uuid.UUID, tuple[FaceWatchPerson, list[list[float]]]] = {}
    for person, embedding in rows:
        grouped.setdefault(person.id, (person, []))[1].append(embedding)
    entries = [
        WatchEntry(
            entry_id=str(person.id),
            reason=person.reason,
            embeddings=np.asarray(vectors, dtype=np.float32),
            expires_at=person.expires_at,
            department_id=person.department_id,
        )
        for person, vectors in grouped.values()
    ]
    return FaceWatchlist(entries)
