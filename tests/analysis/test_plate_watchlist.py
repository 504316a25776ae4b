"""Plate watch lists in memory: confusion-tolerant matching, expiry, CSV files and folders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywitness.analysis.plate_watchlist import (
    PlateWatchlist,
    WatchEntry,
    WatchlistFileInvalid,
    canonical,
    from_path,
    parse_csv,
)

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def entry(plate: str, **kw: object) -> WatchEntry:
    values: dict[str, object] = {
        "entry_id": plate,
        "list_name": "stolen",
        "list_kind": "stolen",
        "plate": plate,
        "reason": "r",
    }
    values.update(kw)
    return WatchEntry(**values)  # type: ignore[arg-type]


def test_canonical_folds_every_look_alike_group() -> None:
    assert canonical("O-D-Q-0 8B 1IL 5S 2Z 6G") == "0000881115522 66".replace(" ", "")


@pytest.mark.parametrize(
    ("read", "listed", "exact"),
    [
        ("AB123CD", "AB123CD", True),
        ("A8123CD", "AB123CD", True),  # 8/B
        ("AB1Z3C0", "AB123CD", True),  # Z/2 and 0/D
        ("AB123CE", "AB123CD", False),  # one further substitution (6+ characters)
        ("沪A12345", "沪A12345", True),
        ("沪A12346", "沪A12345", False),
    ],
)
def test_reads_match_despite_ocr_confusions(read: str, listed: str, exact: bool) -> None:
    match = PlateWatchlist([entry(listed)]).match(read, at=NOW)
    assert match is not None
    assert (match.entry.plate, match.exact) == (listed, exact)


@pytest.mark.parametrize(
    ("read", "listed"),
    [
        ("AB124CE", "AB123CD"),  # two real differences
        ("AB12CD", "AB123CD"),  # shorter
        ("ABC12", "ABC13"),  # under six characters: exact only
    ],
)
def test_other_plates_do_not_match(read: str, listed: str) -> None:
    assert PlateWatchlist([entry(listed)]).match(read, at=NOW) is None


def test_expired_entries_never_match_and_country_must_agree() -> None:
    watch = PlateWatchlist(
        [
            entry("AB123CD", entry_id="old", expires_at=NOW - timedelta(seconds=1)),
            entry("XY987ZW", entry_id="fr", country="FR"),
        ]
    )
    assert watch.match("AB123CD", at=NOW) is None
    assert watch.match("AB123CD", at=NOW - timedelta(days=1)) is not None
    assert watch.match("XY987ZW", country="DE", at=NOW) is None
    hit = watch.match("XY987ZW", country="FR", at=NOW)
    assert hit is not None and hit.entry.entry_id == "fr"


def test_exact_wins_then_the_more_severe_list() -> None:
    watch = PlateWatchlist(
        [
            entry("AB123CE", entry_id="near", list_kind="wanted"),
            entry("AB123CD", entry_id="unpaid", list_kind="unpaid_violation"),
            entry("AB123CD", entry_id="wanted", list_kind="wanted"),
        ]
    )
    hit = watch.match("AB123CD", at=NOW)
    assert hit is not None and (hit.entry.entry_id, hit.entry.severity) == ("wanted", "critical")


def test_csv_rows_are_validated_with_their_line() -> None:
    rows = parse_csv(
        "plate,list,reason,country,expires_at\n"
        "沪A·12345,stolen,case 1,cn,2027-01-01\n"
        "\n"
        "ab-123-cd,Fleet watch,unpaid,,\n"
    )
    assert [(r.line, r.plate, r.list_name, r.list_kind, r.country) for r in rows] == [
        (2, "沪A12345", "stolen", "stolen", "CN"),
        (4, "AB123CD", "Fleet watch", "wanted", None),
    ]
    assert rows[0].expires_at == datetime(2027, 1, 1, tzinfo=UTC)
    bad = {
        "plate,list\nAB1,x\n": "missing columns: reason",
        "plate,list,reason\nA,x,r\n": "line 2: a plate has 2 to 10 characters",
        "plate,list,reason\nAB12,,r\n": "line 2: list must name a list",
        "plate,list,reason,expires_at\nAB12,x,r,soon\n": "line 2: expires_at is not",
        "plate,list,reason,kind\nAB12,x,r,lost\n": "line 2: kind must be one of",
        "plate,list,reason,country\nAB12,x,r,FRA\n": "line 2: country is a two-letter",
        "plate,list,reason\nAB?12,x,r\n": "line 2: a plate has letters and digits only",
    }
    for text, message in bad.items():
        with pytest.raises(WatchlistFileInvalid, match=message.replace("?", r"\?")):
            parse_csv(text)


def test_from_path_reads_a_file_or_every_csv_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("plate,list,reason\nAB123CD,stolen,x\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("plate,list,reason\n7ABC123,wanted,y\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a list", encoding="utf-8")
    folder = from_path(tmp_path)
    assert sorted((e.entry_id, e.plate, e.list_kind) for e in folder.entries) == [
        ("a.csv:2", "AB123CD", "stolen"),
        ("b.csv:2", "7ABC123", "wanted"),
    ]
    assert len(from_path(tmp_path / "a.csv")) == 1
    (tmp_path / "c.csv").write_text("plate,list\n", encoding="utf-8")
    with pytest.raises(WatchlistFileInvalid, match=r"c\.csv: line 1: missing columns"):
        from_path(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(WatchlistFileInvalid, match="no CSV files"):
        from_path(tmp_path / "empty")
    with pytest.raises(WatchlistFileInvalid, match=r"missing\.csv: cannot read"):
        from_path(tmp_path / "missing.csv")


@given(st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=6, max_size=8))
def test_a_listed_plate_always_matches_itself_and_its_look_alikes(plate: str) -> None:
    watch = PlateWatchlist([entry(plate)])
    look_alike = plate.replace("0", "O").replace("8", "B").replace("5", "S")
    for read in (plate, look_alike):
        match = watch.match(read, at=NOW)
        assert match is not None and match.exact
