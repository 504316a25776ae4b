"""The plates analyzer (kind ``plates``): find, read, validate and match license plates.

Per sampled frame: ``PlateDetector`` finds plate-like text lines, the PP-OCRv6 recogniser
reads each line, the per-country grammars (``plate_grammar``) keep only reads that are
plates and normalise them, and the background colour is classified. Reads of one plate in
consecutive frames (same place, or the same text within one character) form a track; a track
becomes one finding when the plate has not been seen for ``track_gap_s``: its text is the
read with the highest total confidence, its offset the first sighting, its duration the
span, its box the best sighting. A plate on the watch list gives the finding
``attributes["watchlist"]`` and an ``AlertHint("watchlist_plate", ...)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field

from citywitness.analysis import plate_ocr, plate_watchlist, plate_watchlist_service
from citywitness.analysis.contracts import (
    AlertHint,
    AnalyzerConfig,
    Box,
    Finding,
    register,
    register_watchlist,
)
from citywitness.analysis.media_source import Frame, MediaSource
from citywitness.analysis.modelzoo import ModelSpec
from citywitness.analysis.plate_detect import PPOCR_DET, PlateDetector
from citywitness.analysis.plate_grammar import PROVINCES, PlateText, parse

KIND = "plates"


class PlatesConfig(AnalyzerConfig):
    """Settings of the plates analyzer."""

    kind: Literal["plates"] = "plates"
    detector_side: int = Field(
        default=768,
        ge=320,
        le=2048,
        description="Longest side a frame is scaled to for the text detector.",
    )
    detector_threshold: float = Field(
        default=0.5, gt=0, lt=1, description="Minimum mean text probability of a plate line."
    )
    countries: list[str] | None = Field(
        default=None,
        description="Grammars to accept (CN, DE, FR, GB, NL, US); None accepts all of them.",
    )
    max_coercions: int = Field(
        default=1,
        ge=0,
        le=2,
        description="Look-alike characters a read may need fixed to fit a grammar (O→0...).",
    )
    track_gap_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="A plate unseen this long ends its track (one finding per track).",
    )


@dataclass(frozen=True, slots=True)
class Sighting:
    offset_s: float
    plate: PlateText
    colour: str
    confidence: float
    box: Box


@dataclass
class _Track:
    sightings: list[Sighting] = field(default_factory=list)

    @property
    def first_s(self) -> float:
        return self.sightings[0].offset_s

    @property
    def last(self) -> Sighting:
        return self.sightings[-1]

    def accepts(self, s: Sighting) -> bool:
        if any(x.plate.text == s.plate.text for x in self.sightings):
            return True
        a, b = self.last.plate.text, s.plate.text
        one_off = len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) <= 1
        return one_off and _iou(self.last.box, s.box) > 0.2

    def best(self) -> tuple[PlateText, Sighting]:
        """The read with the highest total confidence, and its most confident sighting."""
        totals: dict[str, float] = {}
        for s in self.sightings:
            totals[s.plate.text] = totals.get(s.plate.text, 0.0) + s.confidence
        text = max(totals, key=lambda t: totals[t])
        top = max((s for s in self.sightings if s.plate.text == text), key=lambda s: s.confidence)
        return top.plate, top


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / max(a.w * a.h + b.w * b.h - inter, 1e-9)


def _pieces(raw: str) -> list[str]:
    """The read, then its parts split at a second province character or a wide gap."""
    parts = [raw]
    starts = [i for i, char in enumerate(raw) if i > 0 and char in PROVINCES]
    for i in reversed(starts):
        parts += [raw[i:], raw[:i]]
    parts += [part for part in raw.split("  ") if part and part != raw]
    return parts


def _cut_by_frame(box: Box, margin: float = 0.004) -> bool:
    return (
        box.x <= margin
        or box.y <= margin
        or box.x + box.w >= 1 - margin
        or box.y + box.h >= 1 - margin
    )


@register(KIND, PlatesConfig)
class PlatesAnalyzer:
    """Plates in video frames or images; see the module docstring."""

    kind: ClassVar[str] = KIND

    def __init__(self, config: PlatesConfig, *, watchlist: Any | None = None) -> None:
        if watchlist is not None and not isinstance(watchlist, plate_watchlist.PlateWatchlist):
            raise TypeError("the plates analyzer takes a PlateWatchlist")
        self.config = config
        self.watchlist = watchlist
        self.detector = PlateDetector(
            side=config.detector_side, threshold=config.detector_threshold
        )

    def models(self) -> list[ModelSpec]:
        return [PPOCR_DET, plate_ocr.PPOCR_REC]

    def read_frame(self, frame: Frame) -> list[Sighting]:
        """Every plate read in one frame."""
        found: list[Sighting] = []
        height, width = frame.height, frame.width
        for line in self.detector.lines(frame.image):
            if _cut_by_frame(line.text):
                continue  # half a plate reads as a shorter, wrong plate
            x0, y0, x1, y1 = line.text.to_pixels(width, height)
            crop = frame.image[y0:y1, x0:x1]
            raw, confidence = plate_ocr.read_text(crop)
            if confidence < self.config.min_confidence:
                continue
            plate = self._parse(raw)
            if plate is None:
                continue
            colour = plate_ocr.plate_colour(crop)
            found.append(Sighting(frame.offset_s, plate, colour, confidence, line.plate))
        return found

    def _parse(self, raw: str) -> PlateText | None:
        """The read as a plate; failing that, the part of it that is one (a line the detector
        ran together with a partly hidden plate beside it reads ``沪F·80B沪B·5CX62``)."""
        cfg = self.config
        for candidate in _pieces(raw):
            plate = parse(candidate, countries=cfg.countries, max_coercions=cfg.max_coercions)
            if plate is not None:
                return plate
        return None

    def analyze(self, source: MediaSource) -> Iterator[Finding]:
        open_tracks: list[_Track] = []
        done: list[_Track] = []
        cfg = self.config
        frames = source.frames(
            sample_fps=cfg.sample_fps, max_side=cfg.max_side, motion_gate=cfg.motion_gate
        )
        for frame in frames:
            for sighting in self.read_frame(frame):
                track = next((t for t in open_tracks if t.accepts(sighting)), None)
                if track is None:
                    open_tracks.append(_Track([sighting]))
                else:
                    track.sightings.append(sighting)
            ended = [t for t in open_tracks if frame.offset_s - t.last.offset_s > cfg.track_gap_s]
            open_tracks = [t for t in open_tracks if t not in ended]
            done = sorted(done + ended, key=lambda t: t.first_s)
            horizon = min((t.first_s for t in open_tracks), default=float("inf"))
            while done and done[0].first_s <= horizon:
                yield self._finding(done.pop(0))
        for track in sorted(done + open_tracks, key=lambda t: t.first_s):
            yield self._finding(track)

    def _finding(self, track: _Track) -> Finding:
        plate, top = track.best()
        attributes: dict[str, Any] = {
            "text": plate.text,
            "display": plate.display,
            "country": plate.country,
            "format": plate.format,
            "colour": top.colour,
            "reads": len(track.sightings),
        }
        alert = None
        match = (
            None
            if self.watchlist is None
            else self.watchlist.match(plate.text, country=plate.country)
        )
        if match is not None:
            entry = match.entry
            attributes["watchlist"] = {
                "list": entry.list_name,
                "list_kind": entry.list_kind,
                "entry_id": entry.entry_id,
                "reason": entry.reason,
                "plate": entry.plate,
                "exact": match.exact,
            }
            title = f"Plate {plate.display} on watch list {entry.list_name}"
            alert = AlertHint("watchlist_plate", entry.severity, title)
        return Finding(
            analyzer=KIND,
            label="plate",
            offset_s=track.first_s,
            duration_s=track.last.offset_s - track.first_s,
            confidence=top.confidence,
            model=plate_ocr.PPOCR_REC.ref(),
            box=top.box,
            attributes=attributes,
            alert=alert,
        )


register_watchlist(
    KIND,
    from_db=plate_watchlist_service.load_for_departments,
    from_path=plate_watchlist.from_path,
)
