"""The Merkle tree against RFC 9162's recursive definitions written out naively, for every
size up to 300 and random index and size pairs, against published vectors, and through
an archive cut (the nodes before it served from the kept frontier only)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    ProofError,
    completed_count,
    consistency_nodes,
    inclusion_nodes,
    leaf_hash,
    node_hash,
    prove_consistency,
    prove_inclusion,
    read_root,
    stored_at,
    verify_consistency,
    verify_inclusion,
)

LIMIT = 300
LEAVES = [f"record {i}".encode() for i in range(LIMIT)]
HASHES = [leaf_hash(leaf) for leaf in LEAVES]


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_root(hashes: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, over leaf hashes."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(naive_root(hashes[:k]), naive_root(hashes[k:]))


def naive_path(m: int, hashes: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH."""
    if len(hashes) <= 1:
        return []
    k = _split(len(hashes))
    if m < k:
        return [*naive_path(m, hashes[:k]), naive_root(hashes[k:])]
    return [*naive_path(m - k, hashes[k:]), naive_root(hashes[:k])]


def naive_subproof(m: int, hashes: list[bytes], whole: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF."""
    n = len(hashes)
    if m == n:
        return [] if whole else [naive_root(hashes)]
    k = _split(n)
    if m <= k:
        return [*naive_subproof(m, hashes[:k], whole), naive_root(hashes[k:])]
    return [*naive_subproof(m - k, hashes[k:], False), naive_root(hashes[:k])]


def naive_consistency(m: int, n: int) -> list[bytes]:
    return naive_subproof(m, HASHES[:n], True) if m > 0 else []


def _full_tree() -> MemoryTree:
    built = MemoryTree()
    for leaf in LEAVES:
        built.append_leaf(leaf)
    return built


TREE = _full_tree()
ROOTS = [naive_root(HASHES[:n]) for n in range(LIMIT + 1)]


def _flip(proof: list[bytes], i: int) -> list[bytes]:
    changed = bytearray(proof[i])
    changed[0] ^= 1
    return [*proof[:i], bytes(changed), *proof[i + 1 :]]


# -- tree heads and the stored layout ------------------------------------------------------


def test_every_tree_head_up_to_300_matches_the_definition() -> None:
    frontier = Frontier()
    assert frontier.root() == EMPTY_ROOT == ROOTS[0]
    for n in range(1, LIMIT + 1):
        frontier, _ = frontier.append(HASHES[n - 1])
        assert frontier.root() == ROOTS[n], n
        assert read_root(n, TREE) == ROOTS[n], n


def test_each_stored_node_is_the_root_of_its_perfect_subtree() -> None:
    for leaf_index, completed in enumerate(TREE.completed):
        assert len(completed) == completed_count(leaf_index)
        for level, digest in enumerate(completed):
            index = leaf_index >> level
            assert stored_at((level, index)) == (leaf_index, level)
            assert digest == naive_root(HASHES[index << level : (index + 1) << level])


def test_storage_is_under_two_hashes_a_leaf() -> None:
    for n in (1, 2, 3, 255, 256, 300):
        assert sum(len(c) for c in TREE.completed[:n]) < 2 * n


def test_a_frontier_survives_serialisation() -> None:
    frontier = TREE.frontier
    assert Frontier.deserialize(frontier.size, frontier.serialize()) == frontier
    assert Frontier.read(frontier.size, TREE) == frontier
    with pytest.raises(ValueError, match="has 3 hashes"):
        Frontier(7, frontier.hashes[:2])


def test_a_proof_reads_a_logarithmic_number_of_nodes() -> None:
    """What a store fetches for a log of ten million records: a handful of rows."""
    size = 10_000_000
    assert len(consistency_nodes(9_999_001, size)) <= 2 * size.bit_length()
    assert len(inclusion_nodes(4_321_987, size)) <= 2 * size.bit_length()


# -- inclusion -----------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.integers(1, LIMIT).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_inclusion_proofs_match_the_definition(pair: tuple[int, int]) -> None:
    index, size = pair
    proof = prove_inclusion(index, size, TREE)
    assert proof == naive_path(index, HASHES[:size])
    assert verify_inclusion(index, size, HASHES[index], proof, ROOTS[size])
    for i in range(len(proof)):
        assert not verify_inclusion(index, size, HASHES[index], _flip(proof, i), ROOTS[size])
    assert not verify_inclusion(index, size, HASHES[index], [*proof, ROOTS[size]], ROOTS[size])
    if proof:
        assert not verify_inclusion(index, size, HASHES[index], proof[:-1], ROOTS[size])
    other = (index + 1) % size
    if other != index:
        assert not verify_inclusion(index, size, HASHES[other], proof, ROOTS[size])


def test_inclusion_is_refused_outside_the_tree() -> None:
    with pytest.raises(ProofError, match="not in a tree of 5"):
        prove_inclusion(5, 5, TREE)
    assert not verify_inclusion(5, 5, HASHES[0], [], ROOTS[5])
    assert not verify_inclusion(0, 0, HASHES[0], [], EMPTY_ROOT)


# -- consistency ---------------------------------------------------------------------------


def _check_consistency(tree: MemoryTree, old: int, new: int) -> None:
    proof = prove_consistency(old, new, tree)
    assert proof == naive_consistency(old, new), (old, new)
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof), (old, new)
    if 0 < old < new:
        for i in range(len(proof)):
            assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], _flip(proof, i))
        assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], proof[:-1])
        assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], [*proof, ROOTS[new]])
        assert not verify_consistency(old, new, ROOTS[new], ROOTS[old], proof)
        assert not verify_consistency(old, new, ROOTS[old - 1], ROOTS[new], proof)


def test_every_consistency_proof_up_to_48_matches_the_definition() -> None:
    for new in range(49):
        for old in range(new + 1):
            _check_consistency(TREE, old, new)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, LIMIT).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_consistency_proofs_match_the_definition(pair: tuple[int, int]) -> None:
    _check_consistency(TREE, *pair)


def test_the_same_size_needs_the_same_root() -> None:
    assert verify_consistency(7, 7, ROOTS[7], ROOTS[7], [])
    assert not verify_consistency(7, 7, ROOTS[7], ROOTS[6], [])
    assert not verify_consistency(7, 7, ROOTS[7], ROOTS[7], [ROOTS[7]])
    assert verify_consistency(0, 9, EMPTY_ROOT, ROOTS[9], [])
    assert not verify_consistency(0, 9, EMPTY_ROOT, ROOTS[9], [ROOTS[9]])
    assert not verify_consistency(8, 7, ROOTS[8], ROOTS[7], [])
    with pytest.raises(ProofError, match="from a tree of 8 to one of 7"):
        prove_consistency(8, 7, TREE)


# -- after an archive cut ------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, LIMIT).flatmap(
        lambda c: st.integers(c, LIMIT).flatmap(
            lambda n: st.tuples(st.just(c), st.integers(c, n), st.just(n))
        )
    )
)
def test_the_kept_frontier_serves_everything_after_the_cut(triple: tuple[int, int, int]) -> None:
    cut, old, new = triple
    start, _ = Frontier().extend(HASHES[:cut])
    after = MemoryTree(start)
    for digest in HASHES[cut:new]:
        after.append_hash(digest)
    assert after.root() == ROOTS[new]
    assert read_root(old, after) == ROOTS[old]
    assert prove_consistency(old, new, after) == naive_consistency(old, new)
    for index in {cut, (cut + new) // 2, new - 1} - {new, -1}:
        if cut <= index < new:
            assert prove_inclusion(index, new, after) == naive_path(index, HASHES[:new])


def test_nodes_before_the_cut_are_refused_not_invented() -> None:
    start, _ = Frontier().extend(HASHES[:10])
    after = MemoryTree(start)
    after.append_hash(HASHES[10])
    with pytest.raises(ProofError, match="not stored"):
        prove_inclusion(3, 11, after)
    with pytest.raises(ProofError, match="not stored"):
        prove_consistency(5, 11, after)


# -- published vectors ---------------------------------------------------------------------

# From github.com/transparency-dev/merkle, proof/verify_test.go (the RFC 6962 reference
# vectors: eight leaves, their roots, and inclusion and consistency proofs).
RFC_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
RFC_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
RFC_INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}  # fmt: skip
RFC_CONSISTENCY = {
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
    (6, 7): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}  # fmt: skip


def _hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(value) for value in values]


def test_the_rfc6962_reference_vectors() -> None:
    tree = MemoryTree()
    for n, leaf in enumerate(RFC_LEAVES, start=1):
        tree.append_leaf(bytes.fromhex(leaf))
        assert tree.root().hex() == RFC_ROOTS[n - 1]
    roots = _hexes(RFC_ROOTS)
    for (index, size), proof in RFC_INCLUSION.items():
        assert prove_inclusion(index, size, tree) == _hexes(proof)
        hashed = leaf_hash(bytes.fromhex(RFC_LEAVES[index]))
        assert verify_inclusion(index, size, hashed, _hexes(proof), roots[size - 1])
    for (old, new), proof in RFC_CONSISTENCY.items():
        assert prove_consistency(old, new, tree) == _hexes(proof)
        assert verify_consistency(old, new, roots[old - 1], roots[new - 1], _hexes(proof))


def test_the_litewitness_vectors() -> None:
    """From github.com/FiloSottile/litetlog, internal/witness/witness_test.go and
    cmd/litewitness/testdata/litewitness.txt: a tree over the leaf hashes 2a00…, 2a01…,
    its heads at 3 and 5 and the consistency proofs a witness accepted."""
    tree = MemoryTree()
    for i in range(5):
        tree.append_hash(bytes([0x2A, i]) + bytes(30))
    assert tree.root(3).hex() == "45c088d4d939e9971298811f227d1295eaad57bbafae55cd71c171e7de48c25d"
    assert tree.root(5).hex() == "42bb57ad06420afa4882c4a63ac6a1ec77480b330b2f20dfc53a0caa5f564e36"
    leaf = {i: (bytes([0x2A, i]) + bytes(30)).hex() for i in range(5)}
    assert [h.hex() for h in prove_consistency(1, 3, tree)] == [leaf[1], leaf[2]]
    assert [h.hex() for h in prove_consistency(1, 5, tree)] == [
        leaf[1],
        "f9f50357e93def4078237b8aaea24ce1a3f5965a0f64ff26bebd99e30470d8b2",
        leaf[4],
    ]
    assert [h.hex() for h in prove_consistency(3, 5, tree)] == [
        leaf[2],
        leaf[3],
        "c2088815d65f60dbfa594d4e96504ab169cb6084bf0c132ab7c521fd2e0eba41",
        leaf[4],
    ]
