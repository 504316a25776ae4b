"""Word error rate: how far a transcript is from a reference text, word by word.

Both texts are normalised the same way first (``words``): Unicode NFKC, lower case, dashes
and slashes split words, other punctuation is dropped (an apostrophe inside a word stays:
``don't``). Numbers are not spelled out, so "42" and "forty two" differ: write references the
way the recogniser writes numbers. The error count is the word-level Levenshtein distance
(substitutions + deletions + insertions); WER = errors / reference words.

Character error rate (CER, for Chinese, which is written without spaces between words) is
the same alignment over characters: NFKC, lower case, every character that is not a letter
or digit (punctuation, spaces) dropped. Simplified and traditional forms of one character
(``动``/``動``) count as different characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_SPLIT = re.compile(r"[\s\-\u2010-\u2015/]+")
_DROP = re.compile(r"[^\w']+")


def words(text: str) -> list[str]:
    """The normalised words of ``text`` (what WER and keyword spotting compare)."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    out: list[str] = []
    for raw in _SPLIT.split(folded):
        word = _DROP.sub("", raw).strip("'_")
        if word:
            out.append(word)
    return out


@dataclass(frozen=True, slots=True)
class WerCounts:
    """The alignment of a hypothesis against a reference."""

    reference_words: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def hits(self) -> int:
        return self.reference_words - self.substitutions - self.deletions

    @property
    def wer(self) -> float:
        """errors / reference words (0 for two empty texts; inf for text against nothing)."""
        if self.reference_words == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return self.errors / self.reference_words

    def __add__(self, other: WerCounts) -> WerCounts:
        return WerCounts(
            self.reference_words + other.reference_words,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
        )


def align(reference: Sequence[str], hypothesis: Sequence[str]) -> WerCounts:
    """Minimum-edit alignment of two word lists; ties prefer substitutions, then deletions."""
    # Each cell: (errors, substitutions, deletions, insertions).
    previous = [(j, 0, 0, j) for j in range(len(hypothesis) + 1)]
    for i, ref_word in enumerate(reference, start=1):
        current = [(i, 0, i, 0)]
        for j, hyp_word in enumerate(hypothesis, start=1):
            diag = previous[j - 1]
            if ref_word == hyp_word:
                current.append(diag)
                continue
            up, left = previous[j], current[j - 1]
            current.append(
                min(
                    (diag[0] + 1, diag[1] + 1, diag[2], diag[3]),
                    (up[0] + 1, up[1], up[2] + 1, up[3]),
                    (left[0] + 1, left[1], left[2], left[3] + 1),
                    key=lambda cell: cell[0],
                )
            )
        previous = current
    _, subs, dels, ins = previous[-1]
    return WerCounts(len(reference), subs, dels, ins)


def measure(reference: str, hypothesis: str) -> WerCounts:
    """Counts for two texts, after normalisation."""
    return align(words(reference), words(hypothesis))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (0.0 is perfect)."""
    return measure(reference, hypothesis).wer


def corpus(pairs: Iterable[tuple[str, str]]) -> WerCounts:
    """Counts summed over (reference, hypothesis) pairs: the corpus WER weights by length."""
    total = WerCounts(0, 0, 0, 0)
    for reference, hypothesis in pairs:
        total += measure(reference, hypothesis)
    return total


def characters(text: str) -> list[str]:
    """The normalised characters of ``text`` (what CER compares): letters and digits only."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return [char for char in folded if char.isalnum()]


def measure_characters(reference: str, hypothesis: str) -> WerCounts:
    """Character-level counts (``reference_words`` is then reference characters)."""
    return align(characters(reference), characters(hypothesis))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference`` (0.0 is perfect)."""
    return measure_characters(reference, hypothesis).wer


def corpus_characters(pairs: Iterable[tuple[str, str]]) -> WerCounts:
    """Character counts summed over (reference, hypothesis) pairs (corpus CER)."""
    total = WerCounts(0, 0, 0, 0)
    for reference, hypothesis in pairs:
        total += measure_characters(reference, hypothesis)
    return total
