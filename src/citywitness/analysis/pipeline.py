"""Running analyzers over media: whole files (CLI), chunks of media time (batch runs, so a
run can commit and resume chunk by chunk) and live segments (session-relative offsets).

Also where the settings become analyzers: ``configured`` validates every analyzer config
in the settings at startup (a bad config is a clear startup error) and sets the runtime.
"""

from __future__ import annotations

import importlib
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from citywitness.analysis import contracts, runtime
from citywitness.analysis.contracts import Analyzer, AnalyzerConfig, Finding
from citywitness.analysis.errors import AnalysisMisconfigured
from citywitness.analysis.media_source import (
    AUDIO_RATE,
    Frame,
    MediaSource,
    MediaUnreadable,
    _scaled,
    motion_score,
)
from citywitness.analysis.modelzoo import ModelSpec, ModelUnavailable, file_sha256
from citywitness.settings.sections.analysis import AnalysisSettings

SNAPSHOT_MARGIN = 0.25  # of the box's size, on each side
SNAPSHOT_MAX_SIDE = 640


def load_analyzers() -> None:
    """Import every analyzer module of the build (they register their kinds)."""
    importlib.import_module("citywitness.analysis.analyzers")


def config_for(kind: str, settings: AnalysisSettings) -> AnalyzerConfig:
    """The validated config of analyzer ``kind`` (its defaults unless the settings give one)."""
    load_analyzers()
    data: dict[str, Any] = {"kind": kind, **settings.analyzers.get(kind, {})}
    data["kind"] = kind
    return contracts.parse_config(data)


def configured(settings: AnalysisSettings) -> dict[str, AnalyzerConfig]:
    """Check the analysis settings and set the ONNX runtime; every named analyzer's config.

    Raises ``AnalysisMisconfigured`` naming the analyzer and the problem.
    """
    runtime.configure(runtime.RuntimeOptions(device=settings.device, threads=settings.threads))
    load_analyzers()
    kinds = set(settings.analyzers) | set(settings.on_upload) | set(settings.live)
    known = contracts.registered()
    configs: dict[str, AnalyzerConfig] = {}
    for kind in sorted(kinds):
        if kind not in known:
            raise AnalysisMisconfigured(
                f"analysis: no analyzer of kind {kind!r} (installed: {', '.join(known) or 'none'})"
            )
        try:
            configs[kind] = config_for(kind, settings)
        except ValueError as exc:
            raise AnalysisMisconfigured(f"analysis.analyzers.{kind}: {exc}") from exc
    return configs


def model_status(spec: ModelSpec) -> str:
    """``ok``, ``missing`` (package or file absent) or ``altered`` (SHA-256 differs), hashing
    the file now."""
    try:
        path = spec.location()
    except ModelUnavailable:
        return "missing"
    if not path.is_file():
        return "missing"
    return "ok" if file_sha256(path) == spec.sha256 else "altered"


def analyse(analyzers: Sequence[Analyzer], source: MediaSource) -> list[Finding]:
    """Every analyzer's findings on ``source``, in time order (stable per analyzer)."""
    found: list[Finding] = []
    for analyzer in analyzers:
        found.extend(analyzer.analyze(source))
    return sorted(found, key=lambda f: f.offset_s)


def _flat(frame: av.AudioFrame) -> NDArray[np.float32]:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)


class ChunkSource(MediaSource):
    """The part [start_s, end_s) of a media file, decoded with ``overlap_s`` of context on
    each side; offsets stay those of the whole file.

    A chunk *owns* the findings that start inside [start_s, end_s): a phrase, a plate track
    or a cue that starts just before the boundary is heard/seen whole by the chunk it starts
    in (thanks to the overlap after its end) and dropped by the next one (which also hears
    its start, thanks to the overlap before).  So a phrase across a boundary is stored once,
    whole, as long as it is shorter than the overlap.
    """

    def __init__(self, path: Path, start_s: float, end_s: float, overlap_s: float = 0.0) -> None:
        window_start = max(0.0, start_s - overlap_s)
        super().__init__(path, name=path.name, base_offset_s=window_start)
        self.start_s = start_s
        self.end_s = end_s
        self.window_end_s = end_s + overlap_s

    def owns(self, finding: Finding, *, last: bool) -> bool:
        """Whether ``finding`` belongs to this chunk (the last one also keeps its end)."""
        return self.start_s <= finding.offset_s and (last or finding.offset_s < self.end_s)

    def frames(
        self, *, sample_fps: float = 2.0, max_side: int = 1280, motion_gate: float | None = None
    ) -> Iterator[Frame]:
        interval = 1.0 / sample_fps
        # on the file's sampling grid, whatever the window: chunking changes no sampled frame
        next_t = math.ceil(self.base_offset_s * sample_fps - 1e-6) / sample_fps
        index = 0
        last: NDArray[np.uint8] | None = None
        with self._open() as container:
            if not container.streams.video:
                return
            stream = container.streams.video[0]
            if self.base_offset_s > 0 and stream.time_base is not None:
                container.seek(int(self.base_offset_s / stream.time_base), stream=stream)
            try:
                for frame in container.decode(stream):
                    t = float(frame.time) if frame.time is not None else next_t
                    if t >= self.window_end_s:
                        break
                    if t + 1e-6 < next_t:
                        continue
                    next_t = t + interval
                    rgb = Image.fromarray(frame.to_ndarray(format="rgb24"))
                    image = np.asarray(_scaled(rgb, max_side), dtype=np.uint8)
                    if (
                        motion_gate is not None
                        and last is not None
                        and motion_score(last, image) < motion_gate
                    ):
                        continue
                    last = image
                    yield Frame(t, image, index)
                    index += 1
            except av.error.FFmpegError as exc:
                raise MediaUnreadable(f"{self.name}: video decoding failed ({exc})") from exc

    def audio(self) -> NDArray[np.float32]:
        """The window's audio only: seek to its start, decode until its end (16 kHz mono)."""
        begin, stop = self.base_offset_s, self.window_end_s
        chunks: list[NDArray[np.float32]] = []
        origin: float | None = None
        with self._open() as container:
            if not container.streams.audio:
                return np.zeros(0, dtype=np.float32)
            stream = container.streams.audio[0]
            if begin > 0 and stream.time_base is not None:
                container.seek(int(begin / stream.time_base), stream=stream)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
            try:
                for frame in container.decode(stream):
                    t = float(frame.time) if frame.time is not None else 0.0
                    if t >= stop:
                        break
                    origin = t if origin is None else origin
                    chunks += [_flat(o) for o in resampler.resample(frame)]
                chunks += [_flat(o) for o in resampler.resample(None)]
            except av.error.FFmpegError as exc:
                raise MediaUnreadable(f"{self.name}: audio decoding failed ({exc})") from exc
        if not chunks or origin is None:
            return np.zeros(0, dtype=np.float32)
        samples = np.concatenate(chunks).astype(np.float32)
        if origin > begin:  # the stream starts late: silence until it does
            lead = np.zeros(round((origin - begin) * AUDIO_RATE), dtype=np.float32)
            samples = np.concatenate([lead, samples])
        skip = max(0, round((begin - origin) * AUDIO_RATE))
        return samples[skip : skip + round((stop - begin) * AUDIO_RATE)]

    def duration_s(self) -> float:
        return self.window_end_s - self.base_offset_s


class SegmentSource(MediaSource):
    """A live segment (init + fragment bytes) whose offsets start at ``start_s``, the
    segment's place in its session, whatever timestamps the fragment carries."""

    def __init__(self, data: bytes, start_s: float, *, name: str = "segment") -> None:
        super().__init__(data, name=name, base_offset_s=start_s)

    def frames(
        self, *, sample_fps: float = 2.0, max_side: int = 1280, motion_gate: float | None = None
    ) -> Iterator[Frame]:
        inner = MediaSource(self.media, name=self.name)
        first: float | None = None
        for frame in inner.frames(
            sample_fps=sample_fps, max_side=max_side, motion_gate=motion_gate
        ):
            first = frame.offset_s if first is None else first
            yield Frame(self.base_offset_s + frame.offset_s - first, frame.image, frame.index)


def frame_at(source: MediaSource, offset_s: float) -> NDArray[np.uint8] | None:
    """The first frame at or after ``offset_s`` (offsets as the source reports them)."""
    best: NDArray[np.uint8] | None = None
    for frame in source.frames(sample_fps=60, max_side=4096):
        best = frame.image
        if frame.offset_s + 1e-3 >= offset_s:
            break
    return best


def snapshot_jpeg(image: NDArray[np.uint8], box: Mapping[str, float] | None) -> bytes:
    """A JPEG of the finding: the box with a margin (the whole frame without a box)."""
    picture = Image.fromarray(image)
    if box is not None:
        w, h = picture.size
        mx, my = box["w"] * SNAPSHOT_MARGIN, box["h"] * SNAPSHOT_MARGIN
        left = max(0, int((box["x"] - mx) * w))
        top = max(0, int((box["y"] - my) * h))
        right = min(w, int((box["x"] + box["w"] + mx) * w) + 1)
        bottom = min(h, int((box["y"] + box["h"] + my) * h) + 1)
        if right > left and bottom > top:
            picture = picture.crop((left, top, right, bottom))
    picture = _scaled(picture, SNAPSHOT_MAX_SIDE)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85)
    return out.getvalue()
