"""The process's ContentStore: built once from the settings, shared by requests and jobs.

The API keeps it on `app.state.content_store` (built on first use, or set beforehand, e.g.
by a test with a store of its own); a worker keeps one per Database.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from citywitness.storage.factory import build_content_store
from citywitness.storage.health import storage_problem

_STORES: weakref.WeakKeyDictionary[Database, ContentStore] = weakref.WeakKeyDictionary()


def store_for(settings: Settings, db: Database) -> ContentStore:
    """The store of `settings` over `db`, built once per Database (a worker's)."""
    store = _STORES.get(db)
    if store is None:
        store = build_content_store(settings, db)
        _STORES[db] = store
    return store


def store_if_known(db: Database) -> ContentStore | None:
    return _STORES.get(db)


def register_store(db: Database, store: ContentStore) -> None:
    """Use `store` for `db` from now on (tests and tools that build a store of their own)."""
    _STORES[db] = store


def get_content_store(request: Request) -> ContentStore:
    """FastAPI dependency: the app's store (app.state.content_store)."""
    state = request.app.state
    store: ContentStore | None = getattr(state, "content_store", None)
    if store is None:
        store = store_for(state.settings, state.db)
        state.content_store = store
    return store


ContentStoreDep = Annotated[ContentStore, Depends(get_content_store)]


def storage_readiness(settings: Settings, db: Database) -> Callable[[], Awaitable[str | None]]:
    """A /readyz check: the evidence store's backend answers and has room."""

    async def check() -> str | None:
        return await storage_problem(store_for(settings, db))

    return check
