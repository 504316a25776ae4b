"""Readiness of the store: the backend answers and there is room to write."""

from __future__ import annotations

import asyncio
import os
import shutil

from citywitness.storage.store import ContentStore


async def storage_problem(store: ContentStore) -> str | None:
    """None when the store can take writes, else a short reason for /readyz."""
    try:
        await asyncio.to_thread(store.backend.list_page, None, 1)
    except Exception as exc:  # noqa: BLE001 - any backend failure means not ready
        return f"backend unreachable ({type(exc).__name__})"
    staging = store.staging_dir
    staging.mkdir(parents=True, exist_ok=True)
    if not os.access(staging, os.W_OK):
        return "staging directory not writable"
    free = shutil.disk_usage(staging).free
    backend_free = await asyncio.to_thread(store.backend.free_bytes)
    for space in (free, backend_free):
        if space is not None and space <= store.min_free_bytes:
            return "no free space"
    return None
