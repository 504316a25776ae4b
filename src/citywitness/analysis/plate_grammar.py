"""Per-country plate grammars: is a read a plate, which format, and how is it written.

A grammar is a set of *shapes*: fixed-length strings of character classes with group breaks
(``"PL·AAAAA"`` is a Chinese standard plate: province, letter, separator, five
alphanumerics). ``parse`` strips separators from an OCR read, tries every shape of that
length and returns the best fit, coercing look-alike characters where a shape demands a digit
or a letter (``O`` → ``0`` in a digit position, ``8`` → ``B`` in a letter position); a read
that needs more than ``max_coercions`` fixes, or fits no shape, is not a plate.

The normalised ``text`` (no separators, upper case) is what watch lists match; ``display``
is the plate as printed (``沪A·12345``, ``AB-123-CD``, ``AB12 CDE``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O never appear on Chinese plates
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

CLASSES: dict[str, str] = {
    "P": PROVINCES,
    "L": CN_LETTERS,
    "A": CN_LETTERS + DIGITS,
    "E": "DF",  # new-energy marker
    "J": "警",
    "D": DIGITS,
    "X": LATIN,
    "Y": LATIN + DIGITS,
}

TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "T": "1", "Z": "2"}
TO_DIGIT |= {"S": "5", "B": "8", "G": "6", "A": "4"}
TO_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G", "4": "A", "7": "T"}
TO_CN_LETTER = TO_LETTER | {"0": "D", "1": "T", "O": "D", "I": "T"}
COERCIONS = {
    "D": TO_DIGIT,
    "X": TO_LETTER,
    "L": TO_CN_LETTER,
    "A": {"O": "0", "I": "1"},
    "E": {"0": "D", "O": "D", "P": "F", "E": "F"},
}
SEPARATORS = re.compile(r"[\s·•\-_.:|'\"`,]+")


@dataclass(frozen=True, slots=True)
class Grammar:
    """A plate format: country (ISO 3166 alpha-2), format name, shapes.

    ``strict`` grammars (loose shapes that ordinary words could fit) accept no coercion.
    """

    country: str
    format: str
    shapes: tuple[str, ...]
    strict: bool = False


@dataclass(frozen=True, slots=True)
class PlateText:
    """A read that fits a grammar."""

    text: str  # normalised: no separators, upper case
    display: str
    country: str
    format: str
    coercions: int


def _shapes(groups: Iterable[Iterable[str]], separator: str) -> tuple[str, ...]:
    return tuple(separator.join(parts) for parts in itertools.product(*groups))


def _de_shapes() -> tuple[str, ...]:
    cities = ("X", "XX", "XXX")
    letters = ("X", "XX")
    numbers = ("D", "DD", "DDD", "DDDD")
    return tuple(
        f"{c} {le} {n}"
        for c, le, n in itertools.product(cities, letters, numbers)
        if len(c) + len(le) + len(n) <= 8
    )


GRAMMARS: tuple[Grammar, ...] = (
    Grammar("CN", "cn_police", ("PL·AAAAJ",)),
    Grammar("CN", "cn_new_energy", ("PL·EADDDD", "PL·DDDDDE")),
    Grammar("CN", "cn_standard", ("PL·AAAAA",)),
    Grammar("FR", "fr_siv", ("XX-DDD-XX",)),
    Grammar("GB", "gb", ("XXDD XXX",)),
    Grammar(
        "NL",
        "nl",
        (
            *("DD-XX-XX", "XX-DD-XX", "XX-XX-DD", "DD-XXX-D", "D-XXX-DD", "XX-DDD-X"),
            *("X-DDD-XX", "XXX-DD-X", "X-DD-XXX", "D-XX-DDD", "DDD-XX-D"),
        ),
        strict=True,
    ),
    Grammar("US", "us", ("DXXXDDD", "XXX-DDDD", "XXX-DDD", "DDD-XXX", "DXXDDD")),
    Grammar("DE", "de", _de_shapes(), strict=True),
)


def grammars(countries: Iterable[str] | None = None) -> tuple[Grammar, ...]:
    """The grammars of some countries (all when None), in matching priority."""
    if countries is None:
        return GRAMMARS
    wanted = {c.upper() for c in countries}
    return tuple(g for g in GRAMMARS if g.country in wanted)


def normalise(text: str) -> str:
    """Upper case without separators: the form watch lists store and match."""
    return SEPARATORS.sub("", text).upper()


def _fit(text: str, shape: str) -> tuple[str, int] | None:
    """``text`` coerced to the shape's classes (ignoring its separators), and the fixes."""
    classes = [c for c in shape if c in CLASSES]
    if len(classes) != len(text):
        return None
    out: list[str] = []
    fixes = 0
    for char, cls in zip(text, classes, strict=True):
        allowed = CLASSES[cls]
        if char in allowed:
            out.append(char)
            continue
        fixed = COERCIONS.get(cls, {}).get(char)
        if fixed is None or fixed not in allowed:
            return None
        out.append(fixed)
        fixes += 1
    return "".join(out), fixes


def _display(text: str, shape: str) -> str:
    chars = iter(text)
    return "".join(next(chars) if c in CLASSES else c for c in shape)


def _kind(separator: str) -> str:
    if "-" in separator:
        return "-"
    return "·" if any(c in separator for c in "·•.") else " "


def _layout(text: str, separators: re.Pattern[str]) -> tuple[list[int], list[str]]:
    """Group lengths and separator kinds (hyphen, dot, space) of a read or a shape."""
    text = text.strip()
    groups = [len(part) for part in separators.split(text) if part]
    return groups, [_kind(found) for found in separators.findall(text)]


_SHAPE_SEPARATORS = re.compile(r"[-· ]")


def _agreement(raw: tuple[list[int], list[str]], shape: str) -> int:
    """0: the read's groups and separators are the shape's; 1: its groups only; 2: neither."""
    groups, kinds = _layout(shape, _SHAPE_SEPARATORS)
    if groups != raw[0]:
        return 2
    return 0 if kinds == raw[1] else 1


def parse(
    raw: str, *, countries: Iterable[str] | None = None, max_coercions: int = 1
) -> PlateText | None:
    """The best grammar fit of an OCR read, or None when it is not a plate.

    Among fits with the fewest coercions, a shape whose groups and separators match the
    read's wins (``AB-123-CD`` is French, not Dutch; ``RD DG 11`` German, ``RD-DG-11``
    Dutch), then one whose groups match; then grammar order.
    """
    text = normalise(raw)
    if not 4 <= len(text) <= 9:
        return None
    layout = _layout(raw.upper(), SEPARATORS)
    best: tuple[tuple[int, int, int], PlateText] | None = None
    for rank, grammar in enumerate(grammars(countries)):
        for shape in grammar.shapes:
            fit = _fit(text, shape)
            if fit is None or fit[1] > (0 if grammar.strict else max_coercions):
                continue
            fixed, fixes = fit
            key = (fixes, _agreement(layout, shape), rank)
            if best is None or key < best[0]:
                display = _display(fixed, shape)
                best = (key, PlateText(fixed, display, grammar.country, grammar.format, fixes))
    return None if best is None else best[1]
