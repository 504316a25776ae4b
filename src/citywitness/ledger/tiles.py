"""Reading tiles from the database, and the roots and proofs computed over them.

Level 0 comes from `ledger_leaves`, higher levels from `ledger_tree_hashes`; each tile is one
index range scan of at most 256 rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.ledger.merkle import TILE_HEIGHT, TILE_WIDTH
from citywitness.ledger.tree import MissingTile, TileRef, TreeView, tiles_needed

T = TypeVar("T")

_LEVEL_ZERO = text(
    "SELECT leaf_hash FROM ledger_leaves "
    "WHERE leaf_index >= :start AND leaf_index < :end ORDER BY leaf_index"
)
_HIGHER = text(
    "SELECT hash FROM ledger_tree_hashes "
    "WHERE level = :level AND node_index >= :start AND node_index < :end ORDER BY node_index"
)


async def read_hashes(session: AsyncSession, level: int, start: int, end: int) -> list[bytes]:
    """The stored hashes at tree level `level` (a multiple of 8) with indexes [start, end)."""
    if end <= start:
        return []
    if level == 0:
        result = await session.scalars(_LEVEL_ZERO, {"start": start, "end": end})
    else:
        result = await session.scalars(_HIGHER, {"level": level, "start": start, "end": end})
    return [bytes(value) for value in result]


async def read_tile(session: AsyncSession, ref: TileRef) -> list[bytes]:
    start = ref.index * TILE_WIDTH
    hashes = await read_hashes(session, ref.level * TILE_HEIGHT, start, start + ref.width)
    if len(hashes) != ref.width:
        raise MissingTile(f"tile {ref.level}/{ref.index} has {len(hashes)} of {ref.width} hashes")
    return hashes


async def read_tiles(session: AsyncSession, refs: Iterable[TileRef]) -> dict[TileRef, list[bytes]]:
    return {ref: await read_tile(session, ref) for ref in sorted(set(refs))}


async def compute(session: AsyncSession, size: int, what: Callable[[TreeView], T]) -> T:
    """Run `what` (root, a proof) on the stored tree of `size`, reading only the tiles it needs."""
    tiles = await read_tiles(session, tiles_needed(size, what))
    return what(TreeView(size, lambda ref: tiles[ref]))


async def root(session: AsyncSession, size: int) -> bytes:
    return await compute(session, size, TreeView.root)


async def inclusion_proof(session: AsyncSession, index: int, size: int) -> list[bytes]:
    return await compute(session, size, lambda view: view.inclusion_proof(index))


async def consistency_proof(session: AsyncSession, old_size: int, size: int) -> list[bytes]:
    return await compute(session, size, lambda view: view.consistency_proof(old_size))
