"""Storage settings and building the store they describe."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from citywitness.kit.db import Database
from citywitness.settings import Settings, StorageSettings, load_settings
from citywitness.storage.backend import LocalBackend
from citywitness.storage.factory import build_content_store
from citywitness.storage.s3 import S3Backend
from tests.storage.conftest import Rest, pattern


def test_defaults_live_under_the_data_dir(tmp_path: Path, db: Database) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.storage.backend == "local"
    assert settings.storage.chunk_size == 1024 * 1024
    store = build_content_store(settings, db)
    assert isinstance(store.backend, LocalBackend)
    assert store.backend.root == (tmp_path / "data" / "objects").absolute()
    assert store.staging_dir == (tmp_path / "data" / "staging").absolute()
    kek = tmp_path / "data" / "keys" / "kek.key"
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600
    assert store.wrapper.kek_id.startswith("local:")


def test_absolute_paths_are_kept(tmp_path: Path, db: Database) -> None:
    storage: Any = {"local_root": str(tmp_path / "elsewhere"), "kek_file": str(tmp_path / "k/kek")}
    settings = Settings(data_dir=tmp_path / "data", storage=storage)
    store = build_content_store(settings, db)
    assert isinstance(store.backend, LocalBackend)
    assert store.backend.root == tmp_path / "elsewhere"
    assert (tmp_path / "k" / "kek").exists()


def test_s3_needs_a_bucket_and_a_sane_chunk_size() -> None:
    with pytest.raises(ValidationError, match="bucket is required"):
        StorageSettings(backend="s3")
    with pytest.raises(ValidationError, match="multiple of 4096"):
        StorageSettings(chunk_size=65537)
    with pytest.raises(ValidationError, match="extra"):
        StorageSettings(chunk=1)  # type: ignore[call-arg]


def test_s3_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db: Database
) -> None:
    monkeypatch.setenv("CW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CW_STORAGE__BACKEND", "s3")
    monkeypatch.setenv("CW_STORAGE__S3__BUCKET", "evidence")
    monkeypatch.setenv("CW_STORAGE__S3__ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CW_STORAGE__S3__SECRET_ACCESS_KEY", "s3cr3t")
    with pytest.raises(ValueError, match="go together"):
        build_content_store(load_settings(), db)
    monkeypatch.setenv("CW_STORAGE__S3__ACCESS_KEY_ID", "AKIDEXAMPLE")
    settings = load_settings()
    assert settings.storage.s3.bucket == "evidence"
    assert "s3cr3t" not in repr(settings.storage)
    store = build_content_store(settings, db)
    assert isinstance(store.backend, S3Backend)
    assert store.backend.bucket == "evidence"


@pytest.mark.parametrize("rest", ["s3"], indirect=True)
async def test_built_s3_store_round_trips(
    rest: Rest, s3_endpoint: str, tmp_path: Path, db: Database
) -> None:
    assert isinstance(rest.backend, S3Backend)
    storage: Any = {
        "backend": "s3",
        "chunk_size": 65536,
        "min_free_bytes": 0,
        "s3": {
            "endpoint_url": s3_endpoint,
            "bucket": rest.backend.bucket,
            "prefix": "cw/",
            "access_key_id": "test",
            "secret_access_key": "test",
        },
    }
    store = build_content_store(Settings(data_dir=tmp_path, storage=storage), db)
    writer = await store.open_writer(expected_size=200_000)
    await writer.write(pattern(200_000))
    stored = await writer.finish()
    assert await store.read_all(stored.sha256) == pattern(200_000)
    assert len(rest.names()) == 1
