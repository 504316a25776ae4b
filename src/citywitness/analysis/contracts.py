"""The contract every analyzer implements, and the finding it produces.

An analyzer is a plugin: a typed config (a pydantic model whose ``kind`` names it) and one
implementation class registered under that kind. It reads frames or audio from a
``MediaSource`` and yields ``Finding`` values; it never touches the database, so the same
class runs in the CLI on files, in batch jobs on uploaded evidence and on live segments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from citywitness.analysis.media_source import MediaSource
    from citywitness.analysis.modelzoo import ModelSpec


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in normalised frame coordinates (0..1, origin top left)."""

    x: float
    y: float
    w: float
    h: float

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in pixels, clamped to the frame."""
        x0 = max(0, min(width, round(self.x * width)))
        y0 = max(0, min(height, round(self.y * height)))
        x1 = max(x0, min(width, round((self.x + self.w) * width)))
        y1 = max(y0, min(height, round((self.y + self.h) * height)))
        return x0, y0, x1, y1

    @classmethod
    def from_pixels(
        cls, corners: tuple[float, float, float, float], width: int, height: int
    ) -> Box:
        """Normalise a pixel box (x0, y0, x1, y1), clamped to the frame."""
        x0, y0, x1, y1 = corners
        x0, x1 = sorted((max(0.0, min(width, x0)), max(0.0, min(width, x1))))
        y0, y1 = sorted((max(0.0, min(height, y0)), max(0.0, min(height, y1))))
        return cls(x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height)

    def as_dict(self) -> dict[str, float]:
        return {
            "x": round(self.x, 5),
            "y": round(self.y, 5),
            "w": round(self.w, 5),
            "h": round(self.h, 5),
        }


@dataclass(frozen=True, slots=True)
class ModelRef:
    """Which model produced a finding: recorded with every finding, for court."""

    name: str
    version: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class AlertHint:
    """An analyzer's verdict that a finding warrants an early warning (issue 5 alerts).

    ``kind`` is an alert kind (``watchlist_plate``, ``watchlist_face``, ``behaviour_cue``,
    ``keyword``); the pipeline raises the alert with the finding's snapshot, evidence,
    recorder and location.  Analyzers stay pure: they only say so.
    """

    kind: str
    severity: str  # an alerts Severity value: info, low, medium, high, critical
    title: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing an analyzer saw or heard.

    ``label`` is what it is within the analyzer (``plate``, ``face``, ``speech``,
    ``keyword``, ``person``, ``cue.fall``...); ``offset_s`` is seconds from the start of the
    analysed media (live segments add the segment's start); ``attributes`` hold the
    analyzer's own fields (plate text and grammar, transcript text, watch-list match...),
    JSON-serialisable. ``vector`` carries an embedding (faces) that is stored apart and never
    printed.
    """

    analyzer: str
    label: str
    offset_s: float
    confidence: float
    model: ModelRef
    box: Box | None = None
    duration_s: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    vector: tuple[float, ...] | None = None
    alert: AlertHint | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (CLI output, API), without the embedding."""
        return {
            "analyzer": self.analyzer,
            "label": self.label,
            "offset_s": round(self.offset_s, 3),
            "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
            "confidence": round(self.confidence, 4),
            "box": None if self.box is None else self.box.as_dict(),
            "model": self.model.as_dict(),
            "attributes": dict(self.attributes),
            "alert": None
            if self.alert is None
            else {
                "kind": self.alert.kind,
                "severity": self.alert.severity,
                "title": self.alert.title,
            },
        }


class AnalyzerConfig(BaseModel):
    """Base of every analyzer's typed config; subclasses narrow ``kind`` to a Literal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    enabled: bool = True
    sample_fps: float = Field(
        default=2.0, gt=0, le=60, description="Frames analysed per second of video."
    )
    max_side: int = Field(
        default=1280, ge=160, le=4096, description="Frames are scaled down to this longest side."
    )
    motion_gate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description=(
            "Skip a sampled frame whose mean absolute change from the last analysed one is"
            " below this fraction (None: analyse every sampled frame)."
        ),
    )
    min_confidence: float = Field(default=0.5, ge=0, le=1)


class Analyzer(Protocol):
    """An analyzer implementation: built from its config, then run on media sources."""

    kind: ClassVar[str]

    def models(self) -> list[ModelSpec]:
        """The models it loads (for ``models list`` and for recording provenance)."""
        ...

    def analyze(self, source: MediaSource) -> Iterator[Finding]:
        """Findings in ``source``, in time order."""
        ...


class AnalyzerFactory(Protocol):
    """What ``register`` decorates: usually the implementation class itself.

    ``watchlist`` is the in-memory watch list of analyzers that match against one (plates,
    faces), as built by that analyzer's own loader (``register_watchlist``); others ignore it.
    """

    def __call__(self, config: Any, /, *, watchlist: Any | None = None) -> Analyzer: ...


WatchlistFromDb = Callable[["AsyncSession", Sequence[UUID]], Awaitable[Any]]
"""Loads the watch list in force for some departments (the pipeline calls it)."""

WatchlistFromPath = Callable[[Path], Any]
"""Reads a watch list from a file or folder (the CLI's ``--watchlist``)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    config: type[AnalyzerConfig]
    factory: AnalyzerFactory
    from_db: WatchlistFromDb | None = None
    from_path: WatchlistFromPath | None = None


_REGISTRY: dict[str, _Entry] = {}

F = TypeVar("F", bound=AnalyzerFactory)


def register(kind: str, config: type[AnalyzerConfig]) -> Callable[[F], F]:
    """Class decorator: ``@register("plates", PlatesConfig)`` on the implementation."""

    def decorate(factory: F) -> F:
        if kind in _REGISTRY:
            raise ValueError(f"analyzer kind {kind!r} registered twice")
        _REGISTRY[kind] = _Entry(config, factory)
        return factory

    return decorate


def register_watchlist(
    kind: str, *, from_db: WatchlistFromDb | None = None, from_path: WatchlistFromPath | None = None
) -> None:
    """Declare how analyzer ``kind`` gets its watch list (from the database, from files)."""
    entry = _REGISTRY[kind]
    _REGISTRY[kind] = _Entry(
        entry.config,
        entry.factory,
        from_db if from_db is not None else entry.from_db,
        from_path if from_path is not None else entry.from_path,
    )


def registered() -> dict[str, type[AnalyzerConfig]]:
    """Every registered kind and its config class."""
    return {kind: entry.config for kind, entry in sorted(_REGISTRY.items())}


def _entry(kind: str) -> _Entry:
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise LookupError(f"no analyzer of kind {kind!r}") from None


def build(config: AnalyzerConfig, *, watchlist: Any | None = None) -> Analyzer:
    """The implementation for a validated config."""
    return _entry(config.kind).factory(config, watchlist=watchlist)


def watchlist_from_db(kind: str) -> WatchlistFromDb | None:
    return _entry(kind).from_db


def watchlist_from_path(kind: str) -> WatchlistFromPath | None:
    return _entry(kind).from_path


def parse_config(data: Mapping[str, Any]) -> AnalyzerConfig:
    """Validate a config mapping against the config class its ``kind`` names."""
    kind = data.get("kind")
    if not isinstance(kind, str):
        raise LookupError(f"no analyzer of kind {kind!r}")
    return _entry(kind).config.model_validate(dict(data))
