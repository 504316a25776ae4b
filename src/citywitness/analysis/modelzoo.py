"""Models that ship inside pinned packages, checked against their SHA-256 before use.

Nothing is ever downloaded at run time: each ``ModelSpec`` names the installed package
that carries the file, the path inside it, the file's SHA-256 and its license. ``resolve``
returns the verified path (the hash is checked once per process and file) and raises
``ModelUnavailable`` when the package is missing or the file differs.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from citywitness.analysis.contracts import ModelRef


class ModelUnavailable(RuntimeError):
    """A model's package is not installed, or its file is missing or altered."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model file inside an installed package."""

    name: str
    package: str  # the distribution on PyPI
    module: str  # the importable package whose directory holds the file
    path: str  # relative to that directory
    sha256: str
    license: str
    task: str

    @property
    def version(self) -> str:
        """The installed distribution's version ("" when not installed)."""
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return ""

    def ref(self) -> ModelRef:
        return ModelRef(name=self.name, version=self.version, sha256=self.sha256)

    def location(self) -> Path:
        """Where the file should be (not verified)."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(f"{self.name}: package {self.package} is not installed")
        return Path(next(iter(spec.submodule_search_locations))) / self.path


_CATALOG: dict[str, ModelSpec] = {}
_VERIFIED: set[tuple[Path, str]] = set()
_LOCK = threading.Lock()


def add(spec: ModelSpec) -> ModelSpec:
    """Register a model (analyzer modules declare theirs at import)."""
    existing = _CATALOG.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"model {spec.name!r} declared twice with different specs")
    _CATALOG[spec.name] = spec
    return spec


def catalog() -> list[ModelSpec]:
    """Every declared model, by name."""
    return [_CATALOG[name] for name in sorted(_CATALOG)]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(spec: ModelSpec) -> Path:
    """Hash the file now (no cache) and return its path; raises ``ModelUnavailable``."""
    path = spec.location()
    if not path.is_file():
        raise ModelUnavailable(f"{spec.name}: {path} is missing from package {spec.package}")
    actual = file_sha256(path)
    if actual != spec.sha256:
        raise ModelUnavailable(
            f"{spec.name}: {path} has SHA-256 {actual}, expected {spec.sha256}"
            " (altered, or another version of the package)"
        )
    return path


def resolve(spec: ModelSpec) -> Path:
    """The verified path of a model file, hashing it only the first time in this process."""
    path = spec.location()
    key = (path, spec.sha256)
    with _LOCK:
        if key in _VERIFIED:
            return path
    verified = verify(spec)
    with _LOCK:
        _VERIFIED.add(key)
    return verified


def assemble(parts: Sequence[ModelSpec], sha256: str, target: Path) -> Path:
    """A model file shipped split over several packages, joined into ``target``.

    Each part is hash-checked (``resolve``), then joined into a temporary file beside
    ``target`` that is renamed into place only when its SHA-256 is ``sha256``; an existing
    ``target`` is hashed once per process and rebuilt when it differs. Raises
    ``ModelUnavailable`` when a part is missing or altered.
    """
    key = (target, sha256)
    with _LOCK:
        if key in _VERIFIED:
            return target
    sources = [resolve(part) for part in parts]
    if not (target.is_file() and file_sha256(target) == sha256):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        digest = hashlib.sha256()
        try:
            with partial.open("wb") as out:
                for source in sources:
                    with source.open("rb") as handle:
                        while chunk := handle.read(1 << 20):
                            digest.update(chunk)
                            out.write(chunk)
            if digest.hexdigest() != sha256:
                raise ModelUnavailable(
                    f"{target.name}: the joined parts have SHA-256 {digest.hexdigest()},"
                    f" expected {sha256}"
                )
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    with _LOCK:
        _VERIFIED.add(key)
    return target


# --- Models exported once at install time (weights shipped in a package only as a .pt) ---
# `make install` converts them to ONNX in a throwaway venv (requirements/export_pose.sh, see
# docs/adr/0006) into the models directory; the ONNX file's own SHA-256 is pinned here like
# any other, so a model that was not exported is "missing" and one exported differently is
# "altered".

MODELS_DIR_ENV = "CITYWITNESS_MODELS_DIR"


def models_dir() -> Path:
    """Where exported models are: ``$CITYWITNESS_MODELS_DIR``, else the checkout's .cache/models."""
    configured = os.environ.get(MODELS_DIR_ENV, "")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / ".cache" / "models"


@dataclass(frozen=True, slots=True)
class ExportedModelSpec(ModelSpec):
    """A model file exported from weights in ``package``; ``path`` is its name in ``models_dir``.

    ``exported_from`` names the source package version and the exporter (the model's version
    in findings), since the source package is not installed in the platform's venv.
    """

    exported_from: str = ""

    @property
    def version(self) -> str:
        return self.exported_from

    def location(self) -> Path:
        return models_dir() / self.path
