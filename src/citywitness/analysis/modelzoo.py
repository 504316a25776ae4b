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
import threading
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
