"""Media fixtures: a store shared with the app, small segment limits, generated segments."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from citywitness.app import create_app
from citywitness.kit.db import Database
from citywitness.media.models import SegmentFormat
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import make_store
from tests.media.helpers import Pieces, make_pieces

MAX_SEGMENT_BYTES = 256 * 1024


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database={"url": database_url},  # type: ignore[arg-type]
        jobs={"in_process_worker": False},  # type: ignore[arg-type]
        media={"max_segment_bytes": MAX_SEGMENT_BYTES},  # type: ignore[arg-type]
    )


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path / "store")


@pytest.fixture
def app(settings: Settings, db: Database, store: ContentStore) -> FastAPI:
    application = create_app(settings, db)
    application.state.content_store = store
    return application


@pytest.fixture(scope="session")
def fmp4(tmp_path_factory: pytest.TempPathFactory) -> Pieces:
    return make_pieces(tmp_path_factory.mktemp("fmp4"), SegmentFormat.FMP4)


@pytest.fixture(scope="session")
def ts(tmp_path_factory: pytest.TempPathFactory) -> Pieces:
    return make_pieces(tmp_path_factory.mktemp("ts"), SegmentFormat.TS)
