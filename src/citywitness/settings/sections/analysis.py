"""Analysis: where analyzers run (device, threads), which run on uploads and live segments,
and each analyzer's config (validated against its typed config at startup)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from citywitness.settings.sections.base import Section


class AnalysisSettings(Section):
    """AI analysis of evidence: batch runs on uploads, live runs on segments."""

    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        description="ONNX Runtime execution: `auto` uses CUDA when present, else the CPU.",
    )
    threads: int = Field(
        default=0, ge=0, le=256, description="Threads per model session (0: one per core)."
    )
    on_upload: list[str] = Field(
        default_factory=list,
        description=(
            "Analyzer kinds run automatically on every new uploaded evidence item"
            " (e.g. [plates, speech]); empty: runs are only started by hand."
        ),
    )
    live: list[str] = Field(
        default_factory=list,
        description="Analyzer kinds run on every live segment within seconds of its arrival.",
    )
    analyzers: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "Each analyzer's config by kind (sample_fps, max_side, motion_gate,"
            " min_confidence and its own fields); a kind left out runs with its defaults."
            " Checked against the analyzer's typed config at startup."
        ),
    )
    chunk_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description=(
            "Batch runs work in chunks of this much media time; each chunk's findings and"
            " the run's progress commit together (the resume point after a crash)."
        ),
    )
    chunk_overlap_s: float = Field(
        default=3.0,
        ge=0,
        le=60,
        description=(
            "Media decoded on each side of a chunk so that a phrase, plate track or cue across"
            " a chunk boundary is found whole, once (by the chunk it starts in)."
        ),
    )
