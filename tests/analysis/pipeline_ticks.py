"""A test double of an analyzer plugin (kind ``ticks``) for the pipeline's mechanics.

One finding per sampled frame, at the frame's time, with the whole second in its text
(``tick3``), so chunking, resume, live offsets and search are checked with exact values.
``alert_at_s`` gives the finding at that second an alert hint; ``delay_s`` (default: the
``TICKS_DELAY_S`` environment variable) slows each frame for the worker-kill test.  Worker
processes load this module as a task module (hence ``blueprint``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import Field

from citywitness.analysis.contracts import (
    AlertHint,
    AnalyzerConfig,
    Box,
    Finding,
    ModelRef,
    register,
)
from citywitness.analysis.media_source import MediaSource
from citywitness.analysis.modelzoo import ModelSpec
from citywitness.kit.jobs import TaskBlueprint

KIND = "ticks"
MODEL = ModelRef(name="ticks-test", version="1.0", sha256="ab" * 32)
BOX = Box(0.25, 0.25, 0.5, 0.5)
DELAY_ENV = "TICKS_DELAY_S"

blueprint = TaskBlueprint("analysis_ticks")  # no tasks: importing registers the analyzer


class TicksConfig(AnalyzerConfig):
    kind: Literal["ticks"] = "ticks"
    sample_fps: float = 1.0
    delay_s: float = Field(  # a worker process gets it from its environment (kill test)
        default_factory=lambda: float(os.environ.get(DELAY_ENV, "0")), ge=0, le=5
    )
    alert_at_s: float | None = None


@register(KIND, TicksConfig)
class Ticks:
    kind: ClassVar[str] = KIND

    def __init__(self, config: TicksConfig, *, watchlist: Any | None = None) -> None:
        del watchlist
        self.config = config

    def models(self) -> list[ModelSpec]:
        return []

    def analyze(self, source: MediaSource) -> Iterator[Finding]:
        for frame in source.frames(sample_fps=self.config.sample_fps, max_side=160):
            time.sleep(self.config.delay_s)
            second = round(frame.offset_s)
            alert = None
            if self.config.alert_at_s is not None and second == round(self.config.alert_at_s):
                alert = AlertHint("keyword", "high", f"tick {second}")
            yield Finding(
                analyzer=KIND,
                label="tick",
                offset_s=round(frame.offset_s, 3),
                confidence=0.9,
                model=MODEL,
                box=BOX,
                duration_s=0.5,
                attributes={"text": f"tick{second}", "second": second},
                vector=(0.5, 0.25),
                alert=alert,
            )
