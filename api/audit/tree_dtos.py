"""What the Merkle-tree routes return: signed tree heads and proofs, hashes as lowercase hex."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from domain.audit.events import AuditEvent as DomainAuditEvent
from domain.audit.events import canonical_bytes
from domain.audit.tree_heads import ConsistencyProof as DomainConsistencyProof
from domain.audit.tree_heads import InclusionProof as DomainInclusionProof
from domain.audit.tree_heads import TreeHead as DomainTreeHead


class TreeHead(msgspec.Struct):
    """A signed tree head: the RFC 9162 root of the first `tree_size` audit events.

    `signature` is a compact JWS (EdDSA, key `kid` in /.well-known/jwks.json) over
    {"type", "tree_size", "root_hash", "timestamp"}.
    """

    tree_size: int
    root_hash: str
    signed_at: datetime
    kid: str
    signature: str


class TreeHeadPage(msgspec.Struct):
    """Signed tree heads, newest first."""

    items: list[TreeHead]
    next_cursor: str | None


class InclusionProof(msgspec.Struct):
    """Proof that one access-log entry is leaf `leaf_index` of the tree of `tree_head`.

    `leaf_data` is the event's canonical JSON; its leaf hash is SHA-256(0x00 || leaf_data)
    and `audit_path` leads from it to `tree_head.root_hash` (RFC 9162 section 2.1.3.2).
    """

    event_id: str
    seq: int
    leaf_index: int
    leaf_data: str
    leaf_hash: str
    audit_path: list[str]
    tree_head: TreeHead


class ConsistencyProof(msgspec.Struct):
    """Proof that the tree of `first` is a prefix of the tree of `second` (RFC 9162
    section 2.1.4.2)."""

    first: TreeHead
    second: TreeHead
    proof: list[str]


def tree_head_out(head: DomainTreeHead) -> TreeHead:
    """A signed tree head as the API shows it."""
    signed = head.signed_at if head.signed_at.tzinfo else head.signed_at.replace(tzinfo=UTC)
    return TreeHead(
        tree_size=head.tree_size,
        root_hash=head.root_hash.hex(),
        signed_at=signed.astimezone(UTC),
        kid=head.kid,
        signature=head.signature,
    )


def inclusion_proof_out(event: DomainAuditEvent, proof: DomainInclusionProof) -> InclusionProof:
    """The proof with the event bytes it covers, so the customer can hash them themselves."""
    data = canonical_bytes(event.seq, event.id, event.at, event.record, event.prev_hash)
    return InclusionProof(
        event_id=str(event.id),
        seq=event.seq,
        leaf_index=event.seq - 1,
        leaf_data=data.decode("ascii"),
        leaf_hash=proof.leaf_hash.hex(),
        audit_path=[node.hex() for node in proof.path],
        tree_head=tree_head_out(proof.tree_head),
    )


def consistency_proof_out(proof: DomainConsistencyProof) -> ConsistencyProof:
    """The consistency proof between two signed heads."""
    return ConsistencyProof(
        first=tree_head_out(proof.first),
        second=tree_head_out(proof.second),
        proof=[node.hex() for node in proof.path],
    )
