"""Per-country plate grammars: what is a plate, which format, normalisation and display."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywitness.analysis.plate_grammar import PlateText, normalise, parse


@pytest.mark.parametrize(
    ("raw", "text", "display", "country", "fmt"),
    [
        ("沪A·12345", "沪A12345", "沪A·12345", "CN", "cn_standard"),
        ("京A12345", "京A12345", "京A·12345", "CN", "cn_standard"),
        ("粤B·D12345", "粤BD12345", "粤B·D12345", "CN", "cn_new_energy"),
        ("粤B·12345F", "粤B12345F", "粤B·12345F", "CN", "cn_new_energy"),
        ("沪A·1234警", "沪A1234警", "沪A·1234警", "CN", "cn_police"),
        ("AB-123-CD", "AB123CD", "AB-123-CD", "FR", "fr_siv"),
        ("AB123CD", "AB123CD", "AB-123-CD", "FR", "fr_siv"),
        ("AB12 CDE", "AB12CDE", "AB12 CDE", "GB", "gb"),
        ("12-ABC-3", "12ABC3", "12-ABC-3", "NL", "nl"),
        ("B AB 1234", "BAB1234", "B AB 1234", "DE", "de"),
        ("RD DG 11", "RDDG11", "RD DG 11", "DE", "de"),
        ("RD-DG-11", "RDDG11", "RD-DG-11", "NL", "nl"),
        ("7ABC123", "7ABC123", "7ABC123", "US", "us"),
        ("ABC-1234", "ABC1234", "ABC-1234", "US", "us"),
    ],
)
def test_plates_of_every_style_parse(
    raw: str, text: str, display: str, country: str, fmt: str
) -> None:
    assert parse(raw) == PlateText(text, display, country, fmt, 0)


def test_separators_in_the_read_pick_between_grammars() -> None:
    plain = parse("AB12CDE")
    assert plain is not None and (plain.country, plain.display) == ("GB", "AB12 CDE")
    # the same characters are a German plate when the read groups them that way
    german = parse("AB C 12")
    assert german is not None and (german.country, german.display) == ("DE", "AB C 12")


def test_look_alikes_are_fixed_in_strict_positions_only() -> None:
    fixed = parse("沪AO2345")  # O in a Chinese plate's tail is a 0
    assert fixed == PlateText("沪A02345", "沪A·02345", "CN", "cn_standard", 1)
    us = parse("7A8C123")  # a digit where California has a letter
    assert us == PlateText("7ABC123", "7ABC123", "US", "us", 1)
    assert parse("7A8C1Z3", max_coercions=1) is None  # two fixes needed
    assert parse("7A8C1Z3", max_coercions=2) == PlateText("7ABC123", "7ABC123", "US", "us", 2)


@pytest.mark.parametrize(
    "raw",
    ["HELLO", "TAXI", "STOP", "2026-11-24 10:00:00", "", "沪", "京A1234", "A", "ABCDEFGHIJK"],
)
def test_words_timestamps_and_short_reads_are_not_plates(raw: str) -> None:
    assert parse(raw) is None


def test_countries_limit_the_grammars() -> None:
    assert parse("AB-123-CD", countries=["CN"]) is None
    plate = parse("AB-123-CD", countries=["fr"])
    assert plate is not None and plate.country == "FR"


def test_normalise_drops_separators_and_upper_cases() -> None:
    assert normalise(" ab-12·c d ") == "AB12CD"


@given(st.text(max_size=30))
def test_any_read_parses_to_a_normalised_plate_or_nothing(raw: str) -> None:
    plate = parse(raw)
    if plate is not None:
        assert plate.text == normalise(plate.display)
        assert 4 <= len(plate.text) <= 9
        assert plate.coercions <= 1
