"""Faces on real photos (the face_recognition 1.3.0 sdist): detection, embeddings, the
calibrated threshold (same person matches, different people do not), enrolment errors,
expiry, the folder loader of the CLI and the analyzer's candidate findings."""

from __future__ import annotations

import functools
import io
import tarfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from citywitness.analysis.contracts import build, parse_config, watchlist_from_path
from citywitness.analysis.face_detect import FaceDetector
from citywitness.analysis.face_embed import FaceEmbedder, distance
from citywitness.analysis.face_watchlist import (
    DEFAULT_THRESHOLD,
    FaceTooSmall,
    FaceWatchlist,
    NoFace,
    PhotoUnreadable,
    SeveralFaces,
    WatchEntry,
    enrol_photo,
)
from citywitness.analysis.faces import ALERT, FacesConfig
from citywitness.analysis.media_source import MediaSource
from citywitness.kit.clock import utcnow

pytestmark = pytest.mark.models

SDIST = Path(__file__).parents[2] / ".cache/testdata/face_recognition-1.3.0.tar.gz"


@functools.cache
def photo(name: str) -> bytes:
    with tarfile.open(SDIST) as tar:
        member = tar.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
        assert member is not None
        return member.read()


def rgb(name: str) -> NDArray[np.uint8]:
    return np.asarray(Image.open(io.BytesIO(photo(name))).convert("RGB"))


@functools.cache
def embedding(name: str) -> NDArray[np.float32]:
    image = rgb(name)
    (face,) = FaceDetector().detect(image)
    return FaceEmbedder().embed(image, face)


def test_detector_finds_the_one_face_with_landmarks_inside_it() -> None:
    image = rgb("obama.jpg")
    (face,) = FaceDetector().detect(image)
    x0, y0, x1, y1 = face.box.to_pixels(image.shape[1], image.shape[0])
    assert (x0, y0, x1, y1) == pytest.approx((374, 107, 603, 418), abs=4)
    assert face.score > 0.85
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
    assert left_eye[0] < nose[0] < right_eye[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in face.landmarks)


def test_detector_finds_nothing_on_a_blank_frame() -> None:
    assert FaceDetector().detect(np.full((360, 640, 3), 128, dtype=np.uint8)) == []


def test_same_person_is_within_the_threshold_and_different_people_are_not() -> None:
    obama = embedding("obama.jpg")
    assert embedding("obama.jpg").shape == (128,)
    same = [distance(obama, embedding(n)) for n in ("obama2.jpg", "obama3.jpg")]
    different = [
        distance(embedding("biden.jpg"), embedding(n)) for n in ("obama.jpg", "obama2.jpg")
    ]
    assert max(same) < DEFAULT_THRESHOLD - 0.1
    assert min(different) > DEFAULT_THRESHOLD + 0.2


def _entry(entry_id: str, name: str, *, expires_in: timedelta | None = None) -> WatchEntry:
    expires = None if expires_in is None else utcnow() + expires_in
    return WatchEntry(entry_id, "warrant 42", embedding(name)[None, :], expires_at=expires)


def test_watchlist_matches_the_nearest_person_in_force() -> None:
    watchlist = FaceWatchlist([_entry("biden", "biden.jpg"), _entry("obama", "obama.jpg")])
    found = watchlist.match(embedding("obama2.jpg"))
    assert found is not None
    assert found.entry.entry_id == "obama"
    assert found.attributes()["candidate"] is True
    assert found.attributes()["needs_confirmation"] is True
    assert FaceWatchlist([_entry("biden", "biden.jpg")]).match(embedding("obama3.jpg")) is None


def test_an_expired_person_never_matches() -> None:
    expired = _entry("obama", "obama.jpg", expires_in=timedelta(seconds=-1))
    assert FaceWatchlist([expired]).match(embedding("obama2.jpg")) is None
    later = _entry("obama", "obama.jpg", expires_in=timedelta(days=1))
    assert (
        FaceWatchlist([later]).match(embedding("obama2.jpg"), at=utcnow() + timedelta(days=2))
        is None
    )
    assert FaceWatchlist([later]).match(embedding("obama2.jpg")) is not None


def _jpeg(image: NDArray[np.uint8]) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG")
    return out.getvalue()


def test_enrolment_needs_exactly_one_readable_large_enough_face() -> None:
    with pytest.raises(NoFace):
        enrol_photo(_jpeg(np.full((400, 400, 3), 200, dtype=np.uint8)))
    pair = np.concatenate([rgb("obama2.jpg"), rgb("32bit.png")], axis=1)
    with pytest.raises(SeveralFaces):
        enrol_photo(_jpeg(pair))
    tiny = np.asarray(Image.open(io.BytesIO(photo("obama.jpg"))).convert("RGB").resize((182, 227)))
    with pytest.raises(FaceTooSmall):
        enrol_photo(_jpeg(tiny))
    with pytest.raises(PhotoUnreadable):
        enrol_photo(b"not an image")


def test_cli_folder_watchlist_and_analyzer_flag_a_candidate(tmp_path: Path) -> None:
    for person, name in (("person-a", "obama.jpg"), ("person-b", "biden.jpg")):
        (tmp_path / "list" / person).mkdir(parents=True)
        (tmp_path / "list" / person / name).write_bytes(photo(name))
    (tmp_path / "obama2.jpg").write_bytes(photo("obama2.jpg"))
    loader = watchlist_from_path("faces")
    assert loader is not None
    watchlist = loader(tmp_path / "list")
    config = parse_config({"kind": "faces"})
    assert isinstance(config, FacesConfig)
    (finding,) = build(config, watchlist=watchlist).analyze(MediaSource(tmp_path / "obama2.jpg"))
    assert (finding.analyzer, finding.label, finding.alert) == ("faces", "face", ALERT)
    assert finding.vector is not None and len(finding.vector) == 128
    assert finding.attributes["watchlist"]["entry_id"] == "person-a"
    assert finding.attributes["watchlist"]["list"] == "faces"
    assert "person" not in ALERT.title.lower()
    assert finding.model.name == "centerface"
    # match off (the public-release path): the same face, no candidate and no alert
    off = build(parse_config({"kind": "faces", "match": False}), watchlist=watchlist)
    (plain,) = off.analyze(MediaSource(tmp_path / "obama2.jpg"))
    assert ("watchlist" in plain.attributes, plain.alert) == (False, None)
    assert "vector" not in finding.as_dict()
