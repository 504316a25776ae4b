"""RFC 9162 hashing, proofs and tile paths: known answers, pymerkle cross-checks, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree
from pymerkle import verify_consistency as pymerkle_verify_consistency

from citywitness.ledger import merkle
from citywitness.ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof_from_leaves,
    inclusion_proof_from_leaves,
    leaf_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

# The certificate-transparency test inputs and their tree heads (RFC 6962 / 9162 hashing).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_HASHES = [leaf_hash(d) for d in CT_LEAVES]


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaves([]) == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_ct_test_vectors(size: int) -> None:
    assert root_from_leaves(CT_HASHES[:size]).hex() == CT_ROOTS[size - 1]


def test_inclusion_and_consistency_known_answers() -> None:
    assert [p.hex() for p in inclusion_proof_from_leaves(CT_HASHES, 0)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]
    assert [p.hex() for p in consistency_proof_from_leaves(CT_HASHES[:7], 4)] == [
        "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"
    ]
    assert consistency_proof_from_leaves(CT_HASHES, 8) == []
    assert consistency_proof_from_leaves(CT_HASHES, 0) == []


def test_out_of_range_requests_are_value_errors() -> None:
    with pytest.raises(ValueError, match="not in a tree of size 8"):
        inclusion_proof_from_leaves(CT_HASHES, 8)
    with pytest.raises(ValueError, match="not a prefix"):
        consistency_proof_from_leaves(CT_HASHES, 9)


def test_cross_check_with_pymerkle() -> None:
    """pymerkle 7 (1-based indexes, leaf included in its path) agrees on roots and proofs."""
    data = [f"entry {i}".encode() for i in range(70)]
    hashes = [leaf_hash(d) for d in data]
    tree = InmemoryTree(algorithm="sha256")
    for item in data:
        tree.append_entry(item)
    for size in range(1, 71):
        root = root_from_leaves(hashes[:size])
        assert tree.get_root(size) == root
        for index in range(0, size, 7):
            theirs = [
                bytes.fromhex(h) for h in tree.prove_inclusion(index + 1, size).serialize()["path"]
            ]
            ours = inclusion_proof_from_leaves(hashes[:size], index)
            theirs.remove(hashes[index])
            assert theirs == ours
        for old in range(1, size, 5):
            # pymerkle's consistency paths are not in RFC order; its verifier accepts our roots
            # and ours accepts our own proof between the same roots.
            old_root = root_from_leaves(hashes[:old])
            pymerkle_verify_consistency(old_root, root, tree.prove_consistency(old, size))
            ours = consistency_proof_from_leaves(hashes[:size], old)
            assert verify_consistency(old, size, ours, old_root, root)


def test_trivial_consistency_rules() -> None:
    root = CT_ROOTS[3]
    r = bytes.fromhex(root)
    assert verify_consistency(4, 4, [], r, r)
    assert not verify_consistency(4, 4, [r], r, r)
    assert not verify_consistency(4, 4, [], r, EMPTY_ROOT)
    assert verify_consistency(0, 8, [], EMPTY_ROOT, bytes.fromhex(CT_ROOTS[7]))
    assert not verify_consistency(0, 8, [r], EMPTY_ROOT, bytes.fromhex(CT_ROOTS[7]))
    assert not verify_consistency(5, 4, [], r, r)
    assert not verify_consistency(3, 8, [], bytes.fromhex(CT_ROOTS[2]), bytes.fromhex(CT_ROOTS[7]))


def test_malformed_proof_elements_fail_without_raising() -> None:
    proof = inclusion_proof_from_leaves(CT_HASHES, 3)
    root = bytes.fromhex(CT_ROOTS[7])
    assert verify_inclusion(CT_HASHES[3], 3, 8, proof, root)
    assert not verify_inclusion(CT_HASHES[3], 3, 8, [*proof[:-1], proof[-1][:31]], root)
    assert not verify_inclusion(CT_HASHES[3], 3, 8, [*proof, proof[0]], root)
    assert not verify_inclusion(CT_HASHES[3], 3, 8, proof[:-1], root)
    assert not verify_inclusion(CT_HASHES[3], 8, 8, proof, root)
    assert not verify_inclusion(CT_HASHES[3], -1, 8, proof, root)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    size = draw(st.integers(min_value=1, max_value=300))
    seed = draw(st.binary(min_size=1, max_size=8))
    return [leaf_hash(seed + i.to_bytes(4, "big")) for i in range(size)], draw(
        st.integers(min_value=0, max_value=size - 1)
    )


def _flip(proof: list[bytes], position: int, bit: int) -> list[bytes]:
    flipped = list(proof)
    element = bytearray(flipped[position])
    element[bit // 8] ^= 1 << (bit % 8)
    flipped[position] = bytes(element)
    return flipped


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_every_inclusion_proof_verifies_and_any_flipped_bit_fails(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    leaves, index = case
    size, root = len(leaves), root_from_leaves(leaves)
    proof = inclusion_proof_from_leaves(leaves, index)
    assert len(proof) <= (size - 1).bit_length()
    assert verify_inclusion(leaves[index], index, size, proof, root)
    bit = data.draw(st.integers(min_value=0, max_value=255))
    flipped_leaf = _flip([leaves[index]], 0, bit)[0]
    assert not verify_inclusion(flipped_leaf, index, size, proof, root)
    assert not verify_inclusion(leaves[index], index, size, proof, _flip([root], 0, bit)[0])
    if proof:
        position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        assert not verify_inclusion(leaves[index], index, size, _flip(proof, position, bit), root)
    if size > 1:
        other = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index))
        assert not verify_inclusion(leaves[index], other, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_every_consistency_proof_verifies_and_any_flipped_bit_fails(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    leaves, old = case
    old += 1  # 1..size
    size = len(leaves)
    old_root, new_root = root_from_leaves(leaves[:old]), root_from_leaves(leaves)
    proof = consistency_proof_from_leaves(leaves, old)
    assert verify_consistency(old, size, proof, old_root, new_root)
    bit = data.draw(st.integers(min_value=0, max_value=255))
    if old < size:
        assert not verify_consistency(old, size, proof, _flip([old_root], 0, bit)[0], new_root)
        assert not verify_consistency(old, size, proof, old_root, _flip([new_root], 0, bit)[0])
        position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        assert not verify_consistency(old, size, _flip(proof, position, bit), old_root, new_root)
        # A different leaf anywhere in the old prefix breaks consistency.
        changed = list(leaves)
        where = data.draw(st.integers(min_value=0, max_value=old - 1))
        changed[where] = _flip([changed[where]], 0, bit)[0]
        assert not verify_consistency(old, size, proof, root_from_leaves(changed[:old]), new_root)


@pytest.mark.parametrize(
    ("level", "index", "width", "path"),
    [
        (0, 0, None, "tile/0/000"),
        (0, 1234, 17, "tile/0/x001/234.p/17"),
        (1, 1234067, None, "tile/1/x001/x234/067"),
        (2, 5, 256, "tile/2/005"),
        (3, 1000, 1, "tile/3/x001/000.p/1"),
    ],
)
def test_tile_paths(level: int, index: int, width: int | None, path: str) -> None:
    assert merkle.tile_path(level, index, width) == path
    assert merkle.parse_tile_index(path.split("/", 2)[2].split(".p", maxsplit=1)[0]) == index


def test_entry_bundle_paths_and_bad_tile_arguments() -> None:
    assert merkle.entries_path(1234, 3) == "tile/entries/x001/234.p/3"
    for width in (0, 257, -1):
        with pytest.raises(ValueError, match="partial tile"):
            merkle.tile_path(0, 0, width)
    with pytest.raises(ValueError, match="negative"):
        merkle.tile_path(-1, 0)
    for text in ("1", "0001", "x000/001", "x01/234", "001/234", "x1234/567", "١٢٣", "abc"):
        with pytest.raises(ValueError, match="tile index"):
            merkle.parse_tile_index(text)


@given(st.integers(min_value=0, max_value=10**15))
def test_tile_index_round_trips(index: int) -> None:
    assert merkle.parse_tile_index(merkle.encode_tile_index(index)) == index
