"""The audit log's Merkle tree against an independent RFC 9162 implementation."""

from __future__ import annotations

import hashlib

import pytest
import rfc9162_reference as rfc

from domain.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    Node,
    ProofError,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    proof_hashes,
    root_from_leaves,
    root_of_size,
    verify_consistency,
    verify_inclusion,
)

DATA = [f"event {i}".encode() for i in range(70)]
SIZES = [*range(1, 34), 63, 64, 65, 70]


def stored_nodes(count: int) -> tuple[Frontier, dict[Node, bytes]]:
    """What the sink keeps: every perfect subtree completed while appending `count` leaves."""
    frontier = Frontier()
    nodes: dict[Node, bytes] = {}
    for data in DATA[:count]:
        nodes.update(frontier.append(leaf_hash(data)))
    return frontier, nodes


def test_leaf_and_empty_hashes_follow_the_rfc() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert rfc.mth([]) == EMPTY_ROOT
    assert root_from_leaves([]) == EMPTY_ROOT


@pytest.mark.parametrize("size", SIZES)
def test_incremental_root_matches_the_reference(size: int) -> None:
    frontier, nodes = stored_nodes(size)
    assert frontier.root() == rfc.mth(DATA[:size])
    assert root_of_size(size, nodes) == rfc.mth(DATA[:size])
    # The frontier keeps one hash per set bit of the size: O(log n) state.
    assert len(frontier.hashes) == bin(size).count("1")
    assert Frontier.decode(size, frontier.encode()) == frontier


def test_a_smaller_root_is_recomputed_from_stored_nodes_of_a_larger_tree() -> None:
    _, nodes = stored_nodes(70)
    for size in SIZES:
        assert root_of_size(size, nodes) == rfc.mth(DATA[:size])


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_proofs_match_the_reference_and_verify(size: int) -> None:
    _, nodes = stored_nodes(70)  # proofs for an older tree, from the newer tree's nodes
    root = rfc.mth(DATA[:size])
    for index in range(size):
        proof = proof_hashes(inclusion_ranges(index, size), nodes)
        assert proof == rfc.path(index, DATA[:size])
        verify_inclusion(leaf_hash(DATA[index]), index, size, proof, root)


@pytest.mark.parametrize("second", SIZES)
def test_consistency_proofs_match_the_reference_and_verify(second: int) -> None:
    _, nodes = stored_nodes(70)
    for first in range(1, second + 1):
        proof = proof_hashes(consistency_ranges(first, second), nodes)
        assert proof == rfc.proof(first, DATA[:second])
        verify_consistency(first, second, rfc.mth(DATA[:first]), rfc.mth(DATA[:second]), proof)


def test_an_inclusion_proof_fails_for_another_leaf_index_or_root() -> None:
    _, nodes = stored_nodes(21)
    proof = proof_hashes(inclusion_ranges(5, 21), nodes)
    root = rfc.mth(DATA[:21])
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(DATA[6]), 5, 21, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(DATA[5]), 4, 21, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(DATA[5]), 5, 21, proof, rfc.mth(DATA[:20]))
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(DATA[5]), 5, 21, proof[:-1], root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(DATA[5]), 21, 21, proof, root)


def test_a_consistency_proof_fails_when_the_old_tree_was_rewritten() -> None:
    _, nodes = stored_nodes(40)
    proof = proof_hashes(consistency_ranges(13, 40), nodes)
    altered = [*DATA[:7], b"rewritten", *DATA[8:13]]
    with pytest.raises(ProofError):
        verify_consistency(13, 40, rfc.mth(altered), rfc.mth(DATA[:40]), proof)
    with pytest.raises(ProofError):
        verify_consistency(13, 40, rfc.mth(DATA[:13]), rfc.mth(DATA[:39]), proof)
    with pytest.raises(ProofError):
        verify_consistency(13, 40, rfc.mth(DATA[:13]), rfc.mth(DATA[:40]), [])
    with pytest.raises(ProofError):
        verify_consistency(5, 5, rfc.mth(DATA[:5]), rfc.mth(DATA[:4]), [])


def test_a_stored_frontier_of_the_wrong_length_is_refused() -> None:
    frontier, _ = stored_nodes(6)
    with pytest.raises(ValueError, match="frontier"):
        Frontier.decode(7, frontier.encode())


def test_ranges_outside_the_tree_are_refused() -> None:
    with pytest.raises(ValueError, match=r"tree|first"):
        inclusion_ranges(3, 3)
    with pytest.raises(ValueError, match=r"tree|first"):
        consistency_ranges(4, 3)
    with pytest.raises(ValueError, match=r"tree|first"):
        consistency_ranges(0, 3)


@pytest.mark.parametrize("size", SIZES)
def test_the_reference_unwinds_the_products_paths_to_the_root(size: int) -> None:
    _, nodes = stored_nodes(size)
    for index in range(size):
        proof = proof_hashes(inclusion_ranges(index, size), nodes)
        assert rfc.root_from_path(index, size, leaf_hash(DATA[index]), proof) == rfc.mth(
            DATA[:size]
        )
