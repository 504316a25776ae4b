"""Roots and proofs computed from tiles (C2SP tlog-tiles) instead of from every leaf.

The log stores, for each k >= 0, the hashes of its complete subtrees of 256**k leaves (level 0:
the leaf hashes).  Tile (t, n) holds those of level 8t with indexes 256n to 256n+255; at the
right edge of a tree of size N it is partial, `hashes_at_level(N, t) - 256n` wide.  Any complete
subtree of height h is then the root of 2**(h - 8t) consecutive hashes of one tile (t = h // 8),
and every value of RFC 9162 (MTH, PATH, PROOF) decomposes into complete subtrees.

The computations take a `TileGetter`.  Which tiles one needs does not depend on hash values, so
`tiles_needed` runs the same computation with a recording getter first; the caller then fetches
exactly those tiles (one database round trip) and runs it for real.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from citywitness.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    largest_power_of_two_below,
    node_hash,
    root_from_leaves,
)


@dataclass(frozen=True, order=True)
class TileRef:
    """Tile `index` of tile level `level`, `width` hashes wide (256: full)."""

    level: int
    index: int
    width: int


TileGetter = Callable[[TileRef], Sequence[bytes]]


class MissingTile(LookupError):
    """A tile (or part of one) a computation needs is not available."""


def hashes_at_level(size: int, tile_level: int) -> int:
    """How many complete subtrees of 256**tile_level leaves a tree of `size` has."""
    return size >> (TILE_HEIGHT * tile_level)


def tile_for(size: int, tile_level: int, tile_index: int) -> TileRef:
    """The tile (t, n) as it is in a tree of `size` (partial at the right edge)."""
    available = hashes_at_level(size, tile_level) - tile_index * TILE_WIDTH
    if available <= 0:
        raise MissingTile(f"tile {tile_level}/{tile_index} is beyond a tree of size {size}")
    return TileRef(tile_level, tile_index, min(TILE_WIDTH, available))


class TreeView:
    """The tree of `size` leaves, read through `get` (full tiles, or partial at the edge)."""

    def __init__(self, size: int, get: TileGetter) -> None:
        self.size = size
        self._get = get

    def perfect(self, height: int, index: int) -> bytes:
        """The hash of the complete subtree of 2**height leaves starting at index << height."""
        tile_level, rest = divmod(height, TILE_HEIGHT)
        first = index << rest
        ref = tile_for(self.size, tile_level, first // TILE_WIDTH)
        hashes = self._get(ref)
        offset = first % TILE_WIDTH
        part = hashes[offset : offset + (1 << rest)]
        if len(part) != 1 << rest:
            raise MissingTile(f"tile {ref} is too short")
        return part[0] if rest == 0 else root_from_leaves(part)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of the leaves [start, end), where start is aligned as RFC 9162's splits are."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0:
            height = n.bit_length() - 1
            return self.perfect(height, start >> height)
        k = largest_power_of_two_below(n)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self) -> bytes:
        return self.subtree(0, self.size)

    def inclusion_proof(self, index: int) -> list[bytes]:
        if not 0 <= index < self.size:
            raise ValueError(f"leaf index {index} is not in a tree of size {self.size}")
        proof: list[bytes] = []
        start, end, m = 0, self.size, index
        while end - start > 1:
            k = largest_power_of_two_below(end - start)
            if m < k:
                proof.append(self.subtree(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree(start, start + k))
                start, m = start + k, m - k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int) -> list[bytes]:
        if not 0 <= old_size <= self.size:
            raise ValueError(f"size {old_size} is not a prefix of a tree of size {self.size}")
        if old_size in (0, self.size):
            return []
        proof: list[bytes] = []
        start, end, m, complete = 0, self.size, old_size, True
        while m != end - start:
            k = largest_power_of_two_below(end - start)
            if m <= k:
                proof.append(self.subtree(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree(start, start + k))
                start, m, complete = start + k, m - k, False
        if not complete:
            proof.append(self.subtree(start, end))
        proof.reverse()
        return proof

    def tile(self, ref: TileRef) -> Sequence[bytes]:
        return self._get(ref)


def tiles_needed(size: int, compute: Callable[[TreeView], object]) -> set[TileRef]:
    """The tiles `compute` reads from a tree of `size` (it runs on dummy hashes)."""
    needed: set[TileRef] = set()
    dummy = bytes(HASH_SIZE)

    def record(ref: TileRef) -> Sequence[bytes]:
        needed.add(ref)
        return [dummy] * ref.width

    compute(TreeView(size, record))
    return needed


def tiles_from_leaves(leaf_hashes: Sequence[bytes]) -> TileGetter:
    """A getter over an in-memory list of leaf hashes (tests, small trees, `ledger verify`)."""
    levels: list[list[bytes]] = [list(leaf_hashes)]
    while len(levels[-1]) >= TILE_WIDTH:
        below = levels[-1]
        levels.append(
            [
                root_from_leaves(below[i : i + TILE_WIDTH])
                for i in range(0, len(below) - TILE_WIDTH + 1, TILE_WIDTH)
            ]
        )

    def get(ref: TileRef) -> Sequence[bytes]:
        if ref.level >= len(levels):
            raise MissingTile(f"no tile level {ref.level}")
        start = ref.index * TILE_WIDTH
        part = levels[ref.level][start : start + ref.width]
        if len(part) != ref.width:
            raise MissingTile(f"tile {ref} is not available")
        return part

    return get
