"""RFC 9162 section 2.1 Merkle tree hashing over SHA-256, with 0-based leaf indexes.

Leaves hash as H(0x00 || data) and interior nodes as H(0x01 || left || right). The
`*_from_leaves` functions are the reference implementations of the RFC's recursive definitions
(MTH, PATH, PROOF): they read every leaf hash, which is what tests and small trees want. The
database-backed log computes the same values from stored subtree hashes (`ledger.tree`).

`verify_inclusion` and `verify_consistency` follow the verification algorithms of RFC 9162
2.1.3.2 and 2.1.4.2 step by step; they never raise on malformed input, they return False.
`tile_path` names a C2SP tlog-tiles resource (tiles of height 8, 256 hashes wide).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """H(0x00 || data): the hash of one log entry."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """H(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two k with k < n (n >= 2), the RFC's split point."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) from the leaf hashes, in O(n) time and O(log n) memory."""
    if not leaf_hashes:
        return EMPTY_ROOT
    # A stack of (height, hash) of perfect subtrees, merged as equal heights meet; what is left
    # at the end folds right to left, which is exactly the RFC's left-heavy split.
    stack: list[tuple[int, bytes]] = []
    for value in leaf_hashes:
        height, current = 0, value
        while stack and stack[-1][0] == height:
            current = node_hash(stack.pop()[1], current)
            height += 1
        stack.append((height, current))
    root = stack.pop()[1]
    while stack:
        root = node_hash(stack.pop()[1], root)
    return root


def inclusion_proof_from_leaves(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 2.1.3.1. Raises ValueError if index is not in the tree."""
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"leaf index {index} is not in a tree of size {len(leaf_hashes)}")
    return _path(leaf_hashes, index, 0, len(leaf_hashes))


def _path(leaves: Sequence[bytes], m: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return [*_path(leaves, m, start, start + k), root_from_leaves(leaves[start + k : end])]
    return [*_path(leaves, m - k, start + k, end), root_from_leaves(leaves[start : start + k])]


def consistency_proof_from_leaves(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) of RFC 9162 2.1.4.1 (empty when old_size is 0 or n).
    Raises ValueError if old_size is negative or larger than the tree."""
    if not 0 <= old_size <= len(leaf_hashes):
        raise ValueError(f"size {old_size} is not a prefix of a tree of size {len(leaf_hashes)}")
    if old_size in (0, len(leaf_hashes)):
        return []
    return _subproof(leaf_hashes, old_size, 0, len(leaf_hashes), complete=True)


def _subproof(
    leaves: Sequence[bytes], m: int, start: int, end: int, *, complete: bool
) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [root_from_leaves(leaves[start:end])]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [
            *_subproof(leaves, m, start, start + k, complete=complete),
            root_from_leaves(leaves[start + k : end]),
        ]
    return [
        *_subproof(leaves, m - k, start + k, end, complete=False),
        root_from_leaves(leaves[start : start + k]),
    ]


def _well_formed(proof: Sequence[bytes], *hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in (*proof, *hashes))


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does `proof` show the leaf at `index` is in the tree (size, root)?"""
    if not _well_formed(proof, leaf_hash, root) or not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> bool:
    """RFC 9162 2.1.4.2: is the tree (old_size, old_root) a prefix of (new_size, new_root)?"""
    if not _well_formed(proof, old_root, new_root) or not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


def encode_tile_index(index: int) -> str:
    """The N path element of tlog-tiles: 3-digit groups, all but the last prefixed with x."""
    if index < 0:
        raise ValueError("tile index must not be negative")
    groups: list[str] = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def _width_suffix(width: int | None) -> str:
    if width is None or width == TILE_WIDTH:
        return ""
    if not 1 <= width < TILE_WIDTH:
        raise ValueError(f"a partial tile has 1 to {TILE_WIDTH - 1} entries, not {width}")
    return f".p/{width}"


def tile_path(level: int, index: int, width: int | None = None) -> str:
    """`tile/<L>/<N>[.p/<W>]`, e.g. tile_path(0, 1234, 17) == "tile/0/x001/234.p/17".
    A width of None or 256 names the full tile."""
    if level < 0:
        raise ValueError("tile level must not be negative")
    return f"tile/{level}/{encode_tile_index(index)}{_width_suffix(width)}"


def entries_path(index: int, width: int | None = None) -> str:
    """`tile/entries/<N>[.p/<W>]`: the entry bundle holding leaves 256*N to 256*N+W-1."""
    return f"tile/entries/{encode_tile_index(index)}{_width_suffix(width)}"


def parse_tile_index(text: str) -> int:
    """Inverse of `encode_tile_index`, strict (exactly the canonical form). ValueError otherwise."""
    parts = text.split("/")
    if not all(len(p) == 4 and p[0] == "x" and p[1:].isdigit() for p in parts[:-1]):
        raise ValueError(f"not a tile index: {text!r}")
    last = parts[-1]
    if len(last) != 3 or not last.isdigit() or not last.isascii():
        raise ValueError(f"not a tile index: {text!r}")
    value = int("".join(p[1:] for p in parts[:-1]) + last)
    if encode_tile_index(value) != text:
        raise ValueError(f"not a canonical tile index: {text!r}")
    return value
