"""Shared fixtures of the analysis tests: a small generated video item, settings that run
the ``ticks`` test analyzer, and a committed database for work that must really commit
(events consumers, jobs, worker processes)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.settings.sections.analysis import AnalysisSettings
from citywitness.storage import ContentStore
from tests.analysis import pipeline_ticks  # noqa: F401 - registers the `ticks` test analyzer
from tests.evidence.core.helpers import register, shared_store
from tests.evidence.core.samples import make_mp4

VIDEO_SECONDS = 6.0


def with_analysis(settings: Settings, **analysis: Any) -> Settings:
    """`settings` with an analysis section of its own (chunks of 2 s, 1 s overlap)."""
    section: dict[str, Any] = {"chunk_seconds": 2.0, "chunk_overlap_s": 1.0, **analysis}
    return settings.model_copy(update={"analysis": AnalysisSettings(**section)})


async def video_item(
    db: Database, store: ContentStore, seconds: float = VIDEO_SECONDS, **meta: Any
) -> EvidenceItem:
    """A committed-to-`db` video item of `seconds` (10 fps, 64x48, no audio), unique content."""
    data = make_mp4(seconds, width=64, height=48, audio=False, nonce=secrets.token_hex(8))
    return (await register(db, store, data, **meta)).item


@pytest.fixture
def ticks_settings(settings: Settings) -> Settings:
    return with_analysis(settings, analyzers={"ticks": {"alert_at_s": 3.0}})


@pytest.fixture
def store(db: Database) -> ContentStore:
    return shared_store(db)


@pytest.fixture
async def item(db: Database, store: ContentStore) -> EvidenceItem:
    return await video_item(db, store)


@pytest.fixture
async def committed_db(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=4, max_overflow=4)
    try:
        yield db
    finally:
        await db.dispose()
