"""Signed checkpoints of the audit chain.

Hash chaining alone detects an edit only by someone who does not recompute the hashes; an
attacker with database access can rewrite the whole chain consistently. A checkpoint signs
(seq, head hash) with a key outside the database (derived from the master key), so any
rewrite of events at or before a stored checkpoint changes the hash at its seq and is
detected. The same attacker can delete the checkpoints (and signed tree heads) too: only a
signed head kept outside the database (`custodian audit witness`) proves the log still
holds what it held then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from domain.audit.events import Actor, AuditRecord, Outcome
from domain.audit.tree_check import AuditLogBroken
from domain.ports import AuditSink, UnitOfWorkBase

CHECKPOINT_TYPE = "custodian-audit-checkpoint"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain's head at `seq` (= the number of events), signed as a compact JWS."""

    seq: int
    head_hash: bytes
    kid: str
    signature: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CheckpointFailure:
    """A checkpoint that does not hold: forged, or the chain at its seq differs."""

    seq: int
    reason: str


def checkpoint_claims(seq: int, head_hash: bytes, at: datetime) -> dict[str, Any]:
    """What a checkpoint signs: the event count, the head hash at it, and when."""
    return {
        "type": CHECKPOINT_TYPE,
        "seq": seq,
        "event_count": seq,
        "head_hash": head_hash.hex(),
        "iat": int(at.astimezone(UTC).timestamp()),
    }


def check_claims(checkpoint: Checkpoint, claims: dict[str, Any]) -> str | None:
    """Why verified claims do not match the stored checkpoint row, or None when they do."""
    if claims.get("type") != CHECKPOINT_TYPE:
        return "signed document is not an audit checkpoint"
    if claims.get("seq") != checkpoint.seq or claims.get("head_hash") != checkpoint.head_hash.hex():
        return "stored checkpoint differs from what was signed"
    return None


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What a full verification found: the chain walk and every checkpoint."""

    events_checked: int
    head_seq: int
    head_hash: bytes
    chain_failure_seq: int | None
    chain_failure_event_id: str | None
    chain_failure_reason: str | None
    checkpoints_checked: int
    checkpoint_failure: CheckpointFailure | None
    latest_checkpoint: Checkpoint | None
    tree_heads_checked: int = 0
    tree_failure: CheckpointFailure | None = None
    """The first event at which the log stops extending a signed (or witnessed) Merkle tree
    head (or leaves were recorded beyond it, or heads are missing for events older than
    allowed)."""
    witnessed_checked: int = 0
    """Tree heads from an officer's witness file that held (`audit verify --against`)."""

    @property
    def intact(self) -> bool:
        """True when the chain verifies and every checkpoint and tree head holds."""
        return (
            self.chain_failure_reason is None
            and self.checkpoint_failure is None
            and self.tree_failure is None
        )


class AuditVerifier(Protocol):
    """Walks the stored chain and its checkpoints."""

    async def verify(self) -> AuditReport:
        """Check every event and every checkpoint; never writes."""
        ...


class VerifyUnitOfWork(UnitOfWorkBase, Protocol):
    """What the verification use case needs from a unit of work."""

    @property
    def audit(self) -> AuditSink: ...
    @property
    def audit_verifier(self) -> AuditVerifier: ...


async def verify_audit(
    uow: VerifyUnitOfWork, actor: Actor, request_id: str | None = None
) -> AuditReport:
    """Verify the chain and every checkpoint, and record that an officer did."""
    async with uow:
        report = await uow.audit_verifier.verify()
        try:
            await uow.audit.append(
                AuditRecord(
                    actor, "verify", "audit_log", outcome=Outcome.ALLOWED, request_id=request_id
                )
            )
        except AuditLogBroken:
            # The log refuses appends until investigated; the officer must still get the
            # report that says why (it is not intact, so this is never silent).
            return report
        await uow.commit()
    return report
