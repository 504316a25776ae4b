"""Plate watch lists in memory: confusion-tolerant matching, and CSV files.

OCR confuses look-alike characters (0/O/D/Q, 8/B, 1/I/L, 5/S, 2/Z, 6/G). Both the read and
the listed plate are *canonicalised* (every look-alike group maps to one character); a read
matches an entry when the canonical forms are equal, or, for plates of six characters or
more, when they differ in exactly one further position. Exact matches win over fuzzy ones,
then the more severe list. Expired entries never match.

CSV files (the CLI's ``--watchlist``, and the API's import) have a header row with the
columns ``plate, list, reason`` and optionally ``country, expires_at, kind``; ``kind`` is the
list's kind (stolen, wanted, unpaid_violation) and defaults to the list name when that is a
kind, else ``wanted``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from citywitness.analysis.plate_grammar import normalise
from citywitness.kit.clock import utcnow

SEVERITY = {"wanted": "critical", "stolen": "high", "unpaid_violation": "low"}
LIST_KINDS = tuple(SEVERITY)
_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
MIN_FUZZY_LENGTH = 6
MAX_CSV_ROWS = 100_000
_LOOKALIKES = str.maketrans(
    {"O": "0", "D": "0", "Q": "0", "B": "8", "I": "1", "L": "1", "S": "5", "Z": "2", "G": "6"}
)
_PLATE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class WatchlistFileInvalid(ValueError):
    """A watch-list CSV file or row cannot be read; says which line and why."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(message if line is None else f"line {line}: {message}")


def canonical(plate: str) -> str:
    """The look-alike-free form of a plate (normalised first)."""
    return normalise(plate).translate(_LOOKALIKES)


def valid_plate(plate: str) -> str:
    """The normalised plate, or ValueError when it cannot be a plate number."""
    text = normalise(plate)
    if not 2 <= len(text) <= 10:
        raise ValueError("a plate has 2 to 10 characters (separators aside)")
    if not all(c in _PLATE_CHARS or not c.isascii() for c in text):
        raise ValueError("a plate has letters and digits only")
    return text


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One listed plate, as the analyzer sees it (no personal data beyond the reason)."""

    entry_id: str
    list_name: str
    list_kind: str
    plate: str  # normalised
    reason: str
    country: str | None = None
    expires_at: datetime | None = None

    @property
    def severity(self) -> str:
        return SEVERITY.get(self.list_kind, "medium")


@dataclass(frozen=True, slots=True)
class WatchMatch:
    entry: WatchEntry
    exact: bool  # canonical forms equal (False: one further substitution)


def _wildcards(key: str) -> list[str]:
    return [f"{key[:i]}?{key[i + 1 :]}" for i in range(len(key))]


class PlateWatchlist:
    """The entries in force for a run, indexed for exact and one-substitution lookups."""

    def __init__(self, entries: Iterable[WatchEntry] = ()) -> None:
        self.entries = tuple(entries)
        self._exact: dict[str, list[WatchEntry]] = {}
        self._fuzzy: dict[str, list[WatchEntry]] = {}
        for entry in self.entries:
            key = canonical(entry.plate)
            self._exact.setdefault(key, []).append(entry)
            if len(key) >= MIN_FUZZY_LENGTH:
                for wildcard in _wildcards(key):
                    self._fuzzy.setdefault(wildcard, []).append(entry)

    def __len__(self) -> int:
        return len(self.entries)

    def match(
        self, plate: str, *, country: str | None = None, at: datetime | None = None
    ) -> WatchMatch | None:
        """The best entry a read plate matches, or None."""
        now = at or utcnow()
        key = canonical(plate)

        def usable(entry: WatchEntry) -> bool:
            if entry.expires_at is not None and entry.expires_at <= now:
                return False
            return entry.country is None or country is None or entry.country == country

        exact = [e for e in self._exact.get(key, []) if usable(e)]
        if exact:
            return WatchMatch(min(exact, key=lambda e: _RANK.get(e.severity, 9)), True)
        if len(key) < MIN_FUZZY_LENGTH:
            return None
        near = {
            e.entry_id: e
            for wildcard in _wildcards(key)
            for e in self._fuzzy.get(wildcard, [])
            if usable(e)
        }
        if not near:
            return None
        return WatchMatch(min(near.values(), key=lambda e: _RANK.get(e.severity, 9)), False)


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    plate: str  # normalised
    list_name: str
    list_kind: str
    reason: str
    country: str | None
    expires_at: datetime | None


def _expiry(value: str, line: int) -> datetime | None:
    if not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise WatchlistFileInvalid("expires_at is not an ISO 8601 date", line=line) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _row(record: dict[str, str | None], line: int) -> CsvRow:
    def cell(name: str) -> str:
        return (record.get(name) or "").strip()

    try:
        plate = valid_plate(cell("plate"))
    except ValueError as exc:
        raise WatchlistFileInvalid(str(exc), line=line) from None
    list_name = cell("list")
    if not list_name or len(list_name) > 80:
        raise WatchlistFileInvalid("list must name a list (1 to 80 characters)", line=line)
    kind = cell("kind") or (list_name if list_name in LIST_KINDS else "wanted")
    if kind not in LIST_KINDS:
        raise WatchlistFileInvalid(f"kind must be one of {', '.join(LIST_KINDS)}", line=line)
    country = cell("country").upper() or None
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise WatchlistFileInvalid("country is a two-letter ISO 3166 code", line=line)
    reason = cell("reason")
    if len(reason) > 500:
        raise WatchlistFileInvalid("reason is at most 500 characters", line=line)
    return CsvRow(line, plate, list_name, kind, reason, country, _expiry(cell("expires_at"), line))


def parse_csv(text: str) -> list[CsvRow]:
    """Rows of a watch-list CSV (header required); WatchlistFileInvalid on the first bad row."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    missing = {"plate", "list", "reason"} - columns
    if missing:
        raise WatchlistFileInvalid(f"missing columns: {', '.join(sorted(missing))}", line=1)
    rows: list[CsvRow] = []
    for record in reader:
        if len(rows) >= MAX_CSV_ROWS:
            raise WatchlistFileInvalid(f"more than {MAX_CSV_ROWS} rows")
        clean = {str(k).strip().lower(): v for k, v in record.items() if k is not None}
        if not any((v or "").strip() for v in clean.values()):
            continue
        rows.append(_row(clean, reader.line_num))
    return rows


def from_path(path: Path) -> PlateWatchlist:
    """A watch list from a CSV file, or from every ``*.csv`` in a folder (CLI ``--watchlist``)."""
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise WatchlistFileInvalid(f"{path}: no CSV files")
    entries: list[WatchEntry] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise WatchlistFileInvalid(f"{file.name}: cannot read ({exc})") from exc
        try:
            rows = parse_csv(text)
        except WatchlistFileInvalid as exc:
            raise WatchlistFileInvalid(f"{file.name}: {exc}") from exc
        entries += [
            WatchEntry(
                entry_id=f"{file.name}:{row.line}",
                list_name=row.list_name,
                list_kind=row.list_kind,
                plate=row.plate,
                reason=row.reason,
                country=row.country,
                expires_at=row.expires_at,
            )
            for row in rows
        ]
    return PlateWatchlist(entries)
