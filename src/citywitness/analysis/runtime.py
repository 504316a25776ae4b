"""ONNX Runtime sessions: CUDA when a GPU build and device are present, else the CPU.

Every analyzer opens its ONNX models here, so the execution provider and thread count are
decided in one place (``CW_ANALYSIS__DEVICE`` / ``__THREADS`` reach ``configure``). Sessions
are cached per (model file, provider), so one process loads each model once.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import onnxruntime as ort

from citywitness.analysis import modelzoo

Device = Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    device: Device = "auto"
    threads: int = 0  # 0: onnxruntime's default (one per core)


_options = RuntimeOptions()
_lock = threading.Lock()


def configure(options: RuntimeOptions) -> None:
    """Set the device and threads for sessions opened from now on (clears the cache)."""
    global _options  # noqa: PLW0603 - process-wide runtime choice, set once at startup
    with _lock:
        _options = options
        _session.cache_clear()


def options() -> RuntimeOptions:
    return _options


def providers(device: Device | None = None) -> list[str]:
    """The execution providers to use, best first (always ends with the CPU)."""
    wanted = device or _options.device
    available = set(ort.get_available_providers())
    chosen: list[str] = []
    if wanted in {"auto", "cuda"} and "CUDAExecutionProvider" in available:
        chosen.append("CUDAExecutionProvider")
    chosen.append("CPUExecutionProvider")
    return chosen


@functools.lru_cache(maxsize=32)
def _session(path: Path, provider_key: tuple[str, ...], threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    return ort.InferenceSession(os.fspath(path), sess_options=so, providers=list(provider_key))


def session(spec: modelzoo.ModelSpec) -> ort.InferenceSession:
    """A (cached) inference session for a hash-verified ONNX model."""
    path = modelzoo.resolve(spec)
    return _session(path, tuple(providers()), _options.threads)
