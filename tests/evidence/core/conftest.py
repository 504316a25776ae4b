"""Evidence core fixtures: a content store of the test's own, shared with the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from citywitness.app import create_app
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import make_store


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path / "store")


@pytest.fixture
def app(settings: Settings, db: Database, store: ContentStore) -> FastAPI:
    application = create_app(settings, db)
    application.state.content_store = store
    return application
