"""IngestMetadata: untrusted names, tags, notes, times and tracks get a 422 with fields."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywitness.evidence.errors import InvalidMetadata
from citywitness.evidence.geo import bounding_box, haversine_m, parse_track
from citywitness.evidence.schemas import IngestMetadata


def _fields(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidMetadata) as raised:
        IngestMetadata.parse(raw)
    assert raised.value.status == 422
    assert raised.value.code == "invalid_metadata"
    return raised.value.fields or {}


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "a/b.mp4",
        "..\\x.mp4",
        "..",
        ".",
        "clip\x00.mp4",
        "bad\nname.mp4",
        "rtl\u202eexe.mp4",
        "~root.mp4",
        "",
        "x" * 256,
    ],
)
def test_unsafe_file_names_are_refused(name: str) -> None:
    assert list(_fields({"filename": name})) == ["filename"]


def test_plain_names_in_any_script_are_kept() -> None:
    meta = IngestMetadata.parse({"filename": " 执法记录 2026-03-01.mp4 "})
    assert meta.filename == "执法记录 2026-03-01.mp4"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"tags": ["ok"] * 51}, "tags"),
        ({"tags": ["x" * 81]}, "tags.0"),
        ({"tags": ["bell\x07"]}, "tags.0"),
        ({"tags": ["  "]}, "tags.0"),
        ({"notes": "n" * 10_001}, "notes"),
        ({"notes": "esc\x1b[31m"}, "notes"),
        ({"recorder_serial": "BWC 1"}, "recorder_serial"),
        ({"category_code": "Criminal Evidence"}, "category_code"),
        ({"media_type": "video"}, "media_type"),
        ({"classification": "top-secret"}, "classification"),
        ({"captured_start": "2026-03-01T08:00:00"}, "captured_start"),
        ({"gps_track": {"type": "Polygon", "coordinates": []}}, "gps_track"),
        ({"gps_track": [[200, 10]]}, "gps_track"),
        ({"gps_track": "not json"}, "gps_track"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_metadata_names_the_field(raw: dict[str, Any], field: str) -> None:
    assert list(_fields({"filename": "x.mp4", **raw})) == [field]


def test_end_before_start_and_two_officers_are_refused() -> None:
    fields = _fields(
        {
            "filename": "x.mp4",
            "captured_start": "2026-03-01T08:00:00+08:00",
            "captured_end": "2026-03-01T07:00:00+08:00",
        }
    )
    assert fields == {"metadata": "Value error, captured_end is before captured_start"}


def test_notes_keep_newlines_and_tracks_take_several_shapes() -> None:
    meta = IngestMetadata.parse(
        {
            "filename": "x.mp4",
            "notes": "line 1\nline 2",
            "gps_track": '[{"lat": 39.9, "lon": 116.4}]',
        }
    )
    assert meta.notes == "line 1\nline 2"
    assert meta.gps_track == {"type": "LineString", "coordinates": [[116.4, 39.9]]}
    point = parse_track({"type": "Point", "coordinates": [116.4, 39.9]})
    box = bounding_box(point)
    assert box is not None
    assert (box.min_lat, box.max_lon) == (39.9, 116.4)


def test_haversine_of_one_degree_of_latitude() -> None:
    assert round(haversine_m(0.0, 0.0, 1.0, 0.0)) == 111_195


@given(st.text(max_size=300))
def test_any_file_name_is_either_refused_or_plain(name: str) -> None:
    try:
        meta = IngestMetadata.parse({"filename": name})
    except InvalidMetadata:
        return
    assert "/" not in meta.filename
    assert "\\" not in meta.filename
    assert meta.filename not in {".", ".."}
    assert all(ord(c) >= 32 and c != "\x7f" for c in meta.filename)
