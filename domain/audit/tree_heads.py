"""Signed tree heads of the audit log's Merkle tree, and proofs against them.

A tree head is (tree size, root hash, time) signed with Ed25519 by a key derived from the
master key and published in JWKS. Anyone holding a tree head can later ask for a
consistency proof to a newer one, and so prove that nothing it covered was changed or
removed; a customer holding an inclusion proof for an access-log entry can prove that the
entry is in the very log the officer audits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TREE_HEAD_TYPE = "custodian-audit-tree-head"
TREE_HEAD_TYP = "audit-tree-head+jwt"
"""The JWS `typ` of a signed tree head."""


@dataclass(frozen=True, slots=True)
class TreeHead:
    """The root of the first `tree_size` audit events, as signed (`signature`, a compact JWS)."""

    tree_size: int
    root_hash: bytes
    signed_at: datetime
    kid: str
    signature: str


def tree_head_claims(tree_size: int, root_hash: bytes, at: datetime) -> dict[str, Any]:
    """What a tree head signs: the size, the root (hex) and the time (ms since the epoch)."""
    return {
        "type": TREE_HEAD_TYPE,
        "tree_size": tree_size,
        "root_hash": root_hash.hex(),
        "timestamp": int(at.astimezone(UTC).timestamp() * 1000),
    }


def tree_head_mismatch(head: TreeHead, claims: dict[str, Any]) -> str | None:
    """Why verified claims differ from the stored tree head, or None when they agree."""
    if claims.get("type") != TREE_HEAD_TYPE:
        return "the signed document is not an audit tree head"
    if claims.get("tree_size") != head.tree_size or claims.get("root_hash") != head.root_hash.hex():
        return "the stored tree head differs from what was signed"
    return None


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Proof that the event at `seq` (leaf `seq - 1`) is in the tree of `tree_head`."""

    seq: int
    leaf_hash: bytes
    path: list[bytes]
    tree_head: TreeHead


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """Proof that the tree of `first.tree_size` events is a prefix of that of `second`."""

    first: TreeHead
    second: TreeHead
    path: list[bytes]


class NoSuchTreeHead(LookupError):
    """No signed tree head has the asked size (or none covers the event yet)."""
