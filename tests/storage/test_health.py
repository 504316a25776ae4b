from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from citywitness.storage import ContentStore
from citywitness.storage.backend import LocalBackend
from citywitness.storage.health import storage_problem


async def test_a_working_store_is_ready(store: ContentStore) -> None:
    assert await storage_problem(store) is None


async def test_an_unreachable_backend_is_not_ready(
    make_store: Callable[..., ContentStore], tmp_path: Path
) -> None:
    root = tmp_path / "objects-gone"
    backend = LocalBackend(root)
    root.rmdir()
    root.write_bytes(b"the object root is now a file")
    store = make_store(backend=backend)
    problem = await storage_problem(store)
    assert problem is not None
    assert problem.startswith("backend unreachable (")


async def test_a_full_disk_is_not_ready(make_store: Callable[..., ContentStore]) -> None:
    store = make_store(min_free_bytes=2**62)
    assert await storage_problem(store) == "no free space"
