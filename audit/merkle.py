"""The audit log's Merkle tree (RFC 9162 §2.1): tree heads, inclusion and consistency
proofs, computed from stored hashes of perfect subtrees so that nothing rehashes the log.

    leaf hash = SHA-256(0x00 || leaf)        node hash = SHA-256(0x01 || left || right)

Storage (what a store persists). A *node* `(level, index)` is the perfect subtree over
leaves [index·2^level, (index+1)·2^level). Appending leaf i completes exactly one node per
level from 0 up to the number of trailing one bits of i: the leaf itself and the subtrees
it closes. The store keeps those hashes with the leaf — `Frontier.append` returns them,
level 0 first, and `stored_at(node)` says which leaf holds a node and at which position.
That is 1 + trailing_ones(i) hashes for leaf i: fewer than 2 on average, so under 64 bytes
a record, in the record's own row, with no table or index of its own. It is the layout of
Go's sumdb `tlog.StoredHashIndex`, grouped by the leaf that completes each node instead
of numbered globally, and equivalent to C2SP tlog-tiles of height 1.

Appending needs only the frontier (the ≤ 64 perfect subtrees covering the tree, biggest
first): O(log n) hashing at worst, two on average, and no read. A tree head needs the
frontier's ≤ 64 nodes; an inclusion or consistency proof needs at most 2·log2(n) nodes —
one `WHERE seq IN (...)` — and hashes only those. Every function that reads takes the
set of nodes it needs first (`*_nodes`), so a caller can fetch them in one query, sync or
async, and then compute from the mapping.

After an archive cut at size c, the nodes inside [0, c) are gone with their rows, but
every tree head and consistency proof from a size ≥ c needs, of those, only the frontier
of c: keep it (`Frontier.hashes`) where the cut is recorded and serve those nodes from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""The tree head of the empty tree (RFC 9162: the hash of an empty string)."""

Node = tuple[int, int]
"""(level, index): the perfect subtree over leaves [index << level, (index + 1) << level)."""


class ProofError(ValueError):
    """A proof was asked for sizes or indices the tree cannot have."""


class NodeReader(Protocol):
    """Where stored node hashes come from (a store, a memory tree, an archive)."""

    def read_nodes(self, nodes: Collection[Node]) -> Mapping[Node, bytes]: ...


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def stored_at(node: Node) -> tuple[int, int]:
    """(the leaf whose append completed the node, the node's position in that leaf's list
    of completed hashes): the leaf is the node's last one, the position its level."""
    level, index = node
    return ((index + 1) << level) - 1, level


def completed_count(leaf_index: int) -> int:
    """How many hashes the append of this leaf completes (itself included)."""
    return 1 + _trailing_ones(leaf_index)


def _trailing_ones(value: int) -> int:
    return ((value ^ (value + 1)) >> 1).bit_length()


def _perfect_parts(start: int, end: int) -> list[Node]:
    """The perfect subtrees that make up [start, end), biggest first. For the ranges the
    tree is built of, each part starts aligned to its size."""
    parts: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start & ((1 << level) - 1):  # not aligned: a smaller part comes first
            level = (start & -start).bit_length() - 1
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def _largest_power_below(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1): RFC 9162's split point."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of consecutive perfect subtrees, biggest first: combined right to left."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


# -- appending ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Frontier:
    """The roots of the perfect subtrees covering the first `size` leaves, biggest first:
    all an appender needs, and what must be kept where an archive cuts the log."""

    size: int = 0
    hashes: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.hashes) != self.size.bit_count():
            raise ValueError(f"a frontier of size {self.size} has {self.size.bit_count()} hashes")
        if any(len(digest) != HASH_SIZE for digest in self.hashes):
            raise ValueError("frontier hashes are 32 bytes each")

    def nodes(self) -> list[Node]:
        return _perfect_parts(0, self.size)

    def root(self) -> bytes:
        return _fold(self.hashes) if self.hashes else EMPTY_ROOT

    def append(self, leaf: bytes) -> tuple[Frontier, tuple[bytes, ...]]:
        """Adds one leaf hash; returns the new frontier and the hashes this append
        completed, level 0 (the leaf) first — what the store keeps with the leaf."""
        frontier, [completed] = self.extend([leaf])
        return frontier, completed

    def extend(self, leaves: Iterable[bytes]) -> tuple[Frontier, list[tuple[bytes, ...]]]:
        """`append` for each leaf hash in turn (a batch), building one frontier."""
        hashes, size = list(self.hashes), self.size
        completed: list[tuple[bytes, ...]] = []
        for leaf in leaves:
            done = [leaf]
            for _ in range(_trailing_ones(size)):
                done.append(node_hash(hashes.pop(), done[-1]))
            hashes.append(done[-1])
            completed.append(tuple(done))
            size += 1
        return Frontier(size, tuple(hashes)), completed

    def serialize(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def deserialize(cls, size: int, blob: bytes) -> Frontier:
        hashes = tuple(blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE))
        return cls(size, hashes)

    @classmethod
    def read(cls, size: int, reader: NodeReader) -> Frontier:
        """The frontier of a stored tree (a writer starting afresh)."""
        nodes = _perfect_parts(0, size)
        found = reader.read_nodes(nodes)
        return cls(size, tuple(_need(found, node) for node in nodes))


# -- tree heads and proofs ---------------------------------------------------------------


def _need(hashes: Mapping[Node, bytes], node: Node) -> bytes:
    try:
        return hashes[node]
    except KeyError:
        raise ProofError(f"node {node} is not stored (archived, or never written)") from None


def _range_hash(start: int, end: int, hashes: Mapping[Node, bytes]) -> bytes:
    return _fold([_need(hashes, node) for node in _perfect_parts(start, end)])


def root_nodes(size: int) -> list[Node]:
    return _perfect_parts(0, size)


def tree_root(size: int, hashes: Mapping[Node, bytes]) -> bytes:
    """The tree head of the first `size` leaves (RFC 9162 MTH)."""
    return _range_hash(0, size, hashes) if size else EMPTY_ROOT


def _inclusion_ranges(index: int, start: int, end: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 PATH(index, D[start:end]), as the ranges whose hashes it lists,
    from the leaf up."""
    if end - start <= 1:
        return []
    split = start + _largest_power_below(end - start)
    if index < split:
        return [*_inclusion_ranges(index, start, split), (split, end)]
    return [*_inclusion_ranges(index, split, end), (start, split)]


def _consistency_ranges(old: int, start: int, end: int, whole: bool) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 SUBPROOF(old, D[start:end], whole), as ranges; `old` is absolute."""
    if old == end:
        return [] if whole else [(start, end)]
    split = start + _largest_power_below(end - start)
    if old <= split:
        return [*_consistency_ranges(old, start, split, whole), (split, end)]
    return [*_consistency_ranges(old, split, end, False), (start, split)]


def _check_inclusion_args(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")


def _check_consistency_args(old: int, new: int) -> None:
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from a tree of {old} to one of {new}")


def _nodes_of(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    return {node for start, end in ranges for node in _perfect_parts(start, end)}


def inclusion_nodes(index: int, size: int) -> set[Node]:
    _check_inclusion_args(index, size)
    return _nodes_of(_inclusion_ranges(index, 0, size))


def inclusion_proof(index: int, size: int, hashes: Mapping[Node, bytes]) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves."""
    _check_inclusion_args(index, size)
    return [_range_hash(s, e, hashes) for s, e in _inclusion_ranges(index, 0, size)]


def consistency_nodes(old: int, new: int) -> set[Node]:
    _check_consistency_args(old, new)
    return _nodes_of(_consistency_ranges(old, 0, new, True)) if old else set()


def consistency_proof(old: int, new: int, hashes: Mapping[Node, bytes]) -> list[bytes]:
    """The proof that the tree of `new` leaves extends the tree of `old` (empty from 0)."""
    _check_consistency_args(old, new)
    if old == 0:
        return []
    return [_range_hash(s, e, hashes) for s, e in _consistency_ranges(old, 0, new, True)]


def prove_inclusion(index: int, size: int, reader: NodeReader) -> list[bytes]:
    return inclusion_proof(index, size, reader.read_nodes(inclusion_nodes(index, size)))


def prove_consistency(old: int, new: int, reader: NodeReader) -> list[bytes]:
    return consistency_proof(old, new, reader.read_nodes(consistency_nodes(old, new)))


def read_root(size: int, reader: NodeReader) -> bytes:
    return tree_root(size, reader.read_nodes(root_nodes(size)))


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -----------------------------------------


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows the leaf hash at `index` in the tree of `size` with `root`."""
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and result == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree of `new` with `new_root` extends the tree of `old`
    with `old_root`. From the empty tree every tree follows (with an empty proof); at the
    same size only the same root does."""
    if not 0 <= old <= new or any(len(p) != HASH_SIZE for p in proof):
        return False
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if old == new:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old tree is itself a node of the new one
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for hash_ in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(hash_, fr)
            sr = node_hash(hash_, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, hash_)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


# -- a tree in memory, stored as a store stores it ----------------------------------------


class MemoryTree:
    """The storage layout above, kept in a list: for tests, witnesses' test logs and
    archives verified on their own. `completed[i]` is what leaf i's append completed."""

    def __init__(self, start: Frontier | None = None) -> None:
        self.frontier = start or Frontier()
        self._first = self.frontier.size
        self._anchor = dict(zip(self.frontier.nodes(), self.frontier.hashes, strict=True))
        self.completed: list[tuple[bytes, ...]] = []

    @property
    def size(self) -> int:
        return self.frontier.size

    def append_leaf(self, leaf: bytes) -> int:
        """Adds a leaf (its content; hashed here); returns its index."""
        return self.append_hash(leaf_hash(leaf))

    def append_hash(self, leaf: bytes) -> int:
        self.frontier, done = self.frontier.append(leaf)
        self.completed.append(done)
        return self.frontier.size - 1

    def read_nodes(self, nodes: Collection[Node]) -> Mapping[Node, bytes]:
        found: dict[Node, bytes] = {}
        for node in nodes:
            if node in self._anchor:
                found[node] = self._anchor[node]
                continue
            leaf, position = stored_at(node)
            if self._first <= leaf < self.size:
                found[node] = self.completed[leaf - self._first][position]
        return found

    def root(self, size: int | None = None) -> bytes:
        return self.frontier.root() if size is None else read_root(size, self)
