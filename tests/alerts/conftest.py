"""Alerts tests: most need real commits (consumers read what other transactions committed)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from citywitness.kit.db import Database


@pytest.fixture
async def committed_db(fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(fresh_database_url, pool_size=4, max_overflow=4)
    try:
        yield db
    finally:
        await db.dispose()
