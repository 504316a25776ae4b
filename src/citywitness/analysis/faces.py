"""The faces analyzer: detect faces, embed them, and flag watch-list *candidates*.

Every face found becomes a ``face`` finding (box, detector score, 128-d embedding in
``vector``). When ``match`` is on and a watch list is given (the department's, when its face
matching is switched on), a face within the calibrated distance of a listed person gets a
``watchlist`` attribute marked as a candidate needing confirmation and an alert hint whose
title names nobody. Public releases never match: redaction uses the detector alone, and any
config built for a release path must set ``match: false``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import Field

from citywitness.analysis.contracts import (
    AlertHint,
    AnalyzerConfig,
    Finding,
    register,
    register_watchlist,
)
from citywitness.analysis.face_detect import CENTERFACE, DetectedFace, FaceDetector
from citywitness.analysis.face_embed import FACE_RESNET, SHAPE_PREDICTOR_5, FaceEmbedder
from citywitness.analysis.face_watchlist import (
    DEFAULT_THRESHOLD,
    FaceWatchlist,
    from_db,
    from_path,
)
from citywitness.analysis.media_source import Frame, MediaSource
from citywitness.analysis.modelzoo import ModelSpec

ALERT = AlertHint("watchlist_face", "high", "Possible watch-list face: needs confirmation")


class FacesConfig(AnalyzerConfig):
    """Face detection (CenterFace), embedding (dlib ResNet) and watch-list candidates."""

    kind: Literal["faces"] = "faces"
    min_confidence: float = Field(
        default=0.5, ge=0.05, le=0.99, description="Minimum detector score for a face."
    )
    embed: bool = Field(
        default=True, description="Compute the 128-d embedding of each face large enough."
    )
    match: bool = Field(
        default=True,
        description=(
            "Match embeddings against the watch list (when one is given). Must be false on"
            " any path that leads to a public release."
        ),
    )
    threshold: float = Field(
        default=DEFAULT_THRESHOLD,
        gt=0.2,
        le=0.6,
        description=(
            "Largest Euclidean distance for a candidate (calibrated: same person 0.28-0.44,"
            " different people >= 0.81; dlib's own decision threshold is 0.6)."
        ),
    )
    min_face_px: int = Field(
        default=40,
        ge=20,
        le=1024,
        description="Faces narrower than this (pixels) are reported but not embedded.",
    )


@register("faces", FacesConfig)
class FacesAnalyzer:
    """Faces in video frames or images; see the module docstring."""

    kind: ClassVar[str] = "faces"

    def __init__(self, config: FacesConfig, *, watchlist: FaceWatchlist | None = None) -> None:
        self.config = config
        self.watchlist = watchlist if config.match else None
        self.detector = FaceDetector(threshold=config.min_confidence)
        self.embedder = FaceEmbedder()

    def models(self) -> list[ModelSpec]:
        specs = [CENTERFACE]
        if self.config.embed:
            specs += [SHAPE_PREDICTOR_5, FACE_RESNET]
        return specs

    def analyze(self, source: MediaSource) -> Iterator[Finding]:
        for frame in source.frames(
            sample_fps=self.config.sample_fps,
            max_side=self.config.max_side,
            motion_gate=self.config.motion_gate,
        ):
            for face in self.detector.detect(frame.image):
                yield self._finding(frame, face)

    def _finding(self, frame: Frame, face: DetectedFace) -> Finding:
        width_px = round(face.box.w * frame.width)
        attributes: dict[str, Any] = {"width_px": width_px, "embedded": False}
        vector = None
        alert = None
        if self.config.embed and width_px >= self.config.min_face_px:
            embedding = self.embedder.embed(frame.image, face)
            vector = tuple(float(v) for v in embedding)
            attributes["embedded"] = True
            attributes["embedding_model"] = FACE_RESNET.ref().as_dict()
            match = self.watchlist.match(embedding) if self.watchlist is not None else None
            if match is not None:
                attributes["watchlist"] = match.attributes()
                alert = ALERT
        return Finding(
            analyzer="faces",
            label="face",
            offset_s=frame.offset_s,
            confidence=face.score,
            model=CENTERFACE.ref(),
            box=face.box,
            attributes=attributes,
            vector=vector,
            alert=alert,
        )


register_watchlist("faces", from_db=from_db, from_path=from_path)
