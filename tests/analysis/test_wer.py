"""Word error rate: normalisation and exact edit counts."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywitness.analysis.wer import (
    WerCounts,
    align,
    cer,
    characters,
    corpus,
    corpus_characters,
    measure,
    measure_characters,
    wer,
    words,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Drop the weapon!", ["drop", "the", "weapon"]),
        (
            "  It was the best of times, it was…  ",
            ["it", "was", "the", "best", "of", "times", "it", "was"],
        ),
        ("Don't move.", ["don't", "move"]),
        ("Don\u2019t MOVE", ["don't", "move"]),
        ("north-east / south", ["north", "east", "south"]),
        ("unit 42, code 3", ["unit", "42", "code", "3"]),
        ("'quoted' — dash", ["quoted", "dash"]),
        ("ＦＵＬＬ width", ["full", "width"]),
        ("...", []),
        ("", []),
    ],
)
def test_words_normalise(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_identical_texts_have_no_error() -> None:
    assert wer("Drop the weapon. Help me.", "drop the weapon, help me") == 0.0


def test_one_substitution_in_four_words() -> None:
    counts = measure("shots fired officer down", "shots fired officer town")
    assert counts == WerCounts(4, 1, 0, 0)
    assert counts.wer == 0.25
    assert counts.hits == 3


def test_deletion_and_insertion() -> None:
    counts = measure("shots fired officer down", "shots officer down now")
    # "fired" deleted, "now" inserted: two edits (three substitutions would also align).
    assert counts == WerCounts(4, 0, 1, 1)
    assert counts.errors == 2
    assert counts.wer == 0.5


def test_everything_missing_is_a_wer_of_one() -> None:
    assert measure("it was the best", "") == WerCounts(4, 0, 4, 0)
    assert wer("it was the best", "") == 1.0


def test_insertions_can_push_wer_above_one() -> None:
    assert measure("stop", "please please stop now") == WerCounts(1, 0, 0, 3)
    assert wer("stop", "please please stop now") == 3.0


def test_empty_reference() -> None:
    assert wer("", "") == 0.0
    assert math.isinf(wer("", "noise"))


def test_substitution_preferred_on_ties() -> None:
    assert align(["a", "b"], ["a", "c"]) == WerCounts(2, 1, 0, 0)
    # Two substitutions or an insertion and a deletion: both two edits.
    assert align(["help", "me", "now"], ["please", "help", "now"]) == WerCounts(3, 2, 0, 0)


def test_corpus_weights_by_length() -> None:
    total = corpus([("one two three four", "one two three for"), ("yes", "yes")])
    assert total == WerCounts(5, 1, 0, 0)
    assert total.wer == 0.2


@given(
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=8),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=8),
)
def test_errors_bounded_by_lengths(ref: list[str], hyp: list[str]) -> None:
    counts = align(ref, hyp)
    assert abs(len(ref) - len(hyp)) <= counts.errors <= max(len(ref), len(hyp))
    assert counts.reference_words - counts.deletions + counts.insertions == len(hyp)
    assert align(ref, ref).errors == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我需要你停下来 和我谈谈。", list("我需要你停下来和我谈谈")),
        ("放下武器，举起手来！", list("放下武器举起手来")),
        ("Unit 42, 北", ["u", "n", "i", "t", "4", "2", "北"]),
        ("ＡＢ１", ["a", "b", "1"]),
        ("，。 ！", []),
    ],
)
def test_characters_normalise(text: str, expected: list[str]) -> None:
    assert characters(text) == expected


def test_character_error_rate() -> None:
    assert cer("警察，不许动。", "警察 不许动") == 0.0
    # 剪刹 for 警察, and the traditional 許動 for 许动: four substitutions in five characters.
    assert measure_characters("警察，不许动。", "剪刹,不許動") == WerCounts(5, 4, 0, 0)
    assert measure_characters("救命", "救命啊") == WerCounts(2, 0, 0, 1)
    assert cer("救命", "") == 1.0
    total = corpus_characters([("救命", "救命"), ("他有刀", "他有道")])
    assert total == WerCounts(5, 1, 0, 0)
    assert total.wer == 0.2
