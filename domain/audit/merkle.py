"""RFC 9162 Merkle tree hashing over the audit log: roots, frontiers, proofs and their checks.

Leaf i of the tree is audit event i + 1 (seq counts from 1). A leaf hashes as
SHA-256(0x00 || event bytes) and an interior node as SHA-256(0x01 || left || right), exactly
as Certificate Transparency does, so any RFC 9162 verifier can check Custodian's proofs.

Storage keeps the hash of every *perfect* subtree (2**level leaves starting at a multiple of
2**level), addressed as `Node(level, index)`. Every hash a proof needs is either such a node
or the root of a right-edge subtree, which `range_nodes` breaks into perfect ones; so proofs
are served with O(log n) stored hashes and no leaf is ever re-read. Everything here is pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of the empty tree (RFC 9162: the hash of the empty string)."""


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 hash of one leaf's bytes."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node from its children's hashes."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


@dataclass(frozen=True, slots=True, order=True)
class Node:
    """The perfect subtree of 2**level leaves starting at leaf index * 2**level."""

    level: int
    index: int


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees, left to right, whose fold is the RFC root of leaves [start, end).

    Holds for every range a proof uses: `start` is a multiple of a power of two that is at
    least `end - start` (the range lies in one aligned block), as RFC 9162's splits ensure.
    """
    if end <= start:
        raise ValueError("an empty range has no nodes")
    nodes: list[Node] = []
    position = start
    remaining = end - start
    # The binary digits of the length, largest first: aligned because `start` is.
    for level in range(remaining.bit_length() - 1, -1, -1):
        if remaining >> level & 1:
            nodes.append(Node(level, position >> level))
            position += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root of perfect subtrees given left to right, largest first (a frontier)."""
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """The RFC 9162 root of the given leaf hashes (O(n); for checks and tests)."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


@dataclass(slots=True)
class Frontier:
    """The right edge of the tree: one perfect-subtree hash per set bit of `size`.

    Appending a leaf costs O(log n) and reports every perfect subtree it completes, so the
    caller can store exactly the hashes proofs will need.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add one leaf hash; the perfect subtrees completed by it (the leaf included)."""
        index = self.size
        completed = [(Node(0, index), leaf)]
        current = leaf
        level = 0
        # Each trailing 1 bit of the old size is a left sibling that now has its right half.
        while index >> level & 1:
            current = node_hash(self.hashes.pop(), current)
            level += 1
            completed.append((Node(level, index >> level), current))
        self.hashes.append(current)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """The RFC 9162 root of the tree so far."""
        return fold(self.hashes)

    def encode(self) -> bytes:
        """The hashes, concatenated (the size is stored beside them)."""
        return b"".join(self.hashes)

    @classmethod
    def decode(cls, size: int, data: bytes) -> Frontier:
        """The frontier of a tree of `size` leaves from `encode`'s bytes; ValueError when
        the bytes cannot be that frontier."""
        count = bin(size).count("1")
        if size < 0 or len(data) != count * HASH_SIZE:
            raise ValueError("the stored frontier does not match the tree size")
        hashes = [data[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(count)]
        return cls(size, hashes)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose roots form the audit path of leaf `index` in a tree of `size`
    (RFC 9162 section 2.1.3.1), in proof order. ValueError when `index` is not in the tree."""
    if not 0 <= index < size:
        raise ValueError("the leaf is not in the tree")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    # Walk down from the root; each sibling is appended before the deeper ones are known,
    # so the list is built top-down and reversed (the proof lists the deepest first).
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The leaf ranges whose roots form the consistency proof from a tree of `first` leaves
    to one of `second` (RFC 9162 section 2.1.4.1), in proof order."""
    if not 0 < first <= second:
        raise ValueError("a consistency proof needs 0 < first <= second")
    ranges: list[tuple[int, int]] = []
    start, end, whole = 0, second, True
    m = first
    while True:
        if m == end - start:
            if not whole:
                ranges.append((start, end))
            break
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            whole = False
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    """Every stored node needed to hash the given ranges (fetch them in one query)."""
    return {node for start, end in ranges for node in range_nodes(start, end)}


def proof_hashes(
    ranges: Sequence[tuple[int, int]], lookup: Mapping[Node, bytes] | Callable[[Node], bytes]
) -> list[bytes]:
    """The proof: the root of each range, from stored perfect-subtree hashes.

    KeyError when a needed node is not in `lookup`.
    """
    get = lookup.__getitem__ if isinstance(lookup, Mapping) else lookup
    return [fold([get(node) for node in range_nodes(start, end)]) for start, end in ranges]


def root_of_size(size: int, lookup: Mapping[Node, bytes]) -> bytes:
    """The root of the first `size` leaves from stored perfect-subtree hashes."""
    return EMPTY_ROOT if size == 0 else proof_hashes([(0, size)], lookup)[0]


class ProofError(ValueError):
    """A proof that does not prove what it claims."""


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an inclusion proof (RFC 9162 section 2.1.3.2); ProofError when it fails."""
    if not 0 <= index < size:
        raise ProofError("the leaf index is not inside the tree")
    fn, sn, hashed = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            hashed = node_hash(sibling, hashed)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            hashed = node_hash(hashed, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    if hashed != root:
        raise ProofError("the proof does not lead to the root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of `second` leaves extends the tree of `first` (RFC 9162
    section 2.1.4.2); ProofError when it does not."""
    if not 0 < first <= second:
        raise ProofError("a consistency proof needs 0 < first <= second")
    if first == second:
        if proof:
            raise ProofError("trees of equal size need an empty proof")
        if first_root != second_root:
            raise ProofError("trees of equal size have different roots")
        return
    path = list(proof)
    if not path:
        raise ProofError("the proof is empty")
    if first & (first - 1) == 0:  # a power of two: the old root is itself a node of the path
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_found, second_found = _fold_consistency(path, fn, sn)
    if first_found != first_root or second_found != second_root:
        raise ProofError("the proof does not lead to both roots")


def _fold_consistency(path: Sequence[bytes], fn: int, sn: int) -> tuple[bytes, bytes]:
    # The loop of RFC 9162 section 2.1.4.2: rebuilds both roots from one path.
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    return fr, sr
