"""WebVTT: exact output, parsing what other tools write, round trips to the millisecond."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywitness.analysis.webvtt import (
    Cue,
    WebVttError,
    format_timestamp,
    parse,
    parse_timestamp,
    to_ms,
    write,
)


def test_write_exact() -> None:
    cues = [
        Cue.from_seconds(1.26, 2.32, "Drop the weapon.", identifier="17"),
        Cue.from_seconds(3661.0005, 3662.5, "Tom & Jerry <run>\n\n second line "),
    ]
    assert write(cues) == (
        "WEBVTT\n"
        "\n"
        "17\n"
        "00:00:01.260 --> 00:00:02.320\n"
        "Drop the weapon.\n"
        "\n"
        "01:01:01.001 --> 01:01:02.500\n"
        "Tom &amp; Jerry &lt;run&gt;\n"
        "second line\n"
    )


def test_write_nothing_is_a_valid_empty_file() -> None:
    assert write([]) == "WEBVTT\n"
    assert parse(write([])) == []


def test_write_skips_cues_without_text() -> None:
    assert write([Cue(0, 10, " \n ")]) == "WEBVTT\n"


def test_arrows_in_text_are_escaped() -> None:
    cue = Cue(0, 1000, "a --> b")
    assert write([cue]) == "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na --&gt; b\n"
    assert parse(write([cue])) == [cue]


@pytest.mark.parametrize("identifier", ["NOTE", "STYLE x", "a --> b", "two\nlines", " pad", ""])
def test_identifiers_that_would_not_read_back_are_refused(identifier: str) -> None:
    with pytest.raises(WebVttError, match="bad cue identifier"):
        write([Cue(0, 1000, "hi", identifier)])


@pytest.mark.parametrize(
    ("seconds", "ms"), [(0.0, 0), (1.0005, 1001), (1.0004, 1000), (2.32, 2320), (59.9999, 60000)]
)
def test_to_ms_rounds_decimal_half_up(seconds: float, ms: int) -> None:
    assert to_ms(seconds) == ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("00:00:00.000", 0),
        ("01:02.003", 62_003),
        ("10:00:00.010", 36_000_010),
        ("123:00:00.000", 442_800_000),
    ],
)
def test_parse_timestamp(text: str, ms: int) -> None:
    assert parse_timestamp(text) == ms


@pytest.mark.parametrize("text", ["1:02.003", "00:60:00.000", "00:00:00,000", "00:00:00.00", "x"])
def test_bad_timestamps(text: str) -> None:
    with pytest.raises(WebVttError):
        parse_timestamp(text)


def test_format_timestamp_limits() -> None:
    assert format_timestamp(359_999_999) == "99:59:59.999"
    with pytest.raises(WebVttError):
        format_timestamp(-1)


def test_parse_what_other_tools_write() -> None:
    text = (
        "\ufeffWEBVTT - body camera 7\r\n"
        "Kind: captions\r\n"
        "\r\n"
        "NOTE made by hand\r\n"
        "over two lines\r\n"
        "\r\n"
        "STYLE\r\n"
        "::cue { color: yellow }\r\n"
        "\r\n"
        "intro\r\n"
        "00:01.000 --> 00:02.500 align:start line:0\r\n"
        "<v Officer>Stop &amp; show your hands</v>\r\n"
        "\r\n"
        "\r\n"
        "00:00:03.000 --> 00:00:04.000\r\n"
        "Help&nbsp;me\r\n"
        "now\r\n"
    )
    assert parse(text) == [
        Cue(1000, 2500, "Stop & show your hands", "intro"),
        Cue(3000, 4000, "Help\u00a0me\nnow"),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not a WebVTT"),
        ("WEBVTTX\n\n00:00.000 --> 00:01.000\nhi\n", "not a WebVTT"),
        ("WEBVTT\n00:00.000 --> 00:01.000\nhi\n", "blank line"),
        ("WEBVTT\n\n00:02.000 --> 00:01.000\nhi\n", "ends before"),
        ("WEBVTT\n\n00:00.000 -> 00:01.000\nhi\n", "bad timing line 'hi'"),
        ("WEBVTT\n\nid only\n", "no timing line"),
        ("WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n00:01.000 --> 00:02.000\n", "'-->'"),
        ("WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n\nSTYLE\n::cue {}\n", "after the first cue"),
    ],
)
def test_malformed_files_are_refused(text: str, problem: str) -> None:
    with pytest.raises(WebVttError, match=problem):
        parse(text)


_TEXT = (
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\u00a0\u200e\u200f"
        ),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
_CUES = st.lists(
    st.builds(
        lambda start, length, text, ident: Cue(start, start + length, text, ident),
        st.integers(0, 10_000_000),
        st.integers(0, 600_000),
        _TEXT,
        st.none() | st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True),
    ),
    max_size=6,
)


@given(_CUES)
def test_round_trip_is_exact(cues: list[Cue]) -> None:
    assert parse(write(cues)) == cues


@given(st.floats(0, 86_400, allow_nan=False), st.floats(0, 600, allow_nan=False))
def test_times_survive_to_the_millisecond(start: float, length: float) -> None:
    cue = Cue.from_seconds(start, start + length, "hi")
    [back] = parse(write([cue]))
    assert (back.start_ms, back.end_ms) == (to_ms(start), to_ms(start + length))
    assert abs(back.start_s - start) <= 0.0005 + 1e-9
