"""Use cases on the audit log's Merkle tree: a customer's inclusion proof, the officer's list
of signed tree heads and consistency proofs between two of them. Each read is audited."""

from __future__ import annotations

from datetime import UTC
from typing import Protocol
from uuid import UUID

from domain.audit.access_log import ACCESS_LOG_RESOURCE
from domain.audit.events import Actor, AuditEvent, AuditRecord, Outcome
from domain.audit.tree_heads import ConsistencyProof, InclusionProof, TreeHead
from domain.errors import Conflict, InvalidValue, NotFound
from domain.pagination import CursorCodec, Page, Position
from domain.ports import AuditSink, UnitOfWorkBase

TREE_HEADS_LIST = "audit-tree-heads"


class AuditTree(Protocol):
    """Read access to the stored Merkle tree and its signed heads."""

    async def event_of(self, event_id: UUID, subject_id: UUID) -> AuditEvent | None:
        """The event with this id whose subject is `subject_id`, or None."""
        ...

    async def newest_head(self) -> TreeHead | None:
        """The newest signed tree head, or None."""
        ...

    async def inclusion(self, seq: int, head: TreeHead) -> InclusionProof:
        """The proof that event `seq` is in the tree of `head` (seq <= head.tree_size)."""
        ...

    async def consistency(self, first: int, second: int) -> ConsistencyProof:
        """The proof between two signed heads; NotFound when either size has none."""
        ...

    async def heads(self, below: int | None, limit: int) -> list[TreeHead]:
        """Signed heads, newest first, smaller than `below` when given."""
        ...


class TreeUnitOfWork(UnitOfWorkBase, Protocol):
    """What the tree use cases need from a unit of work."""

    @property
    def audit(self) -> AuditSink: ...
    @property
    def audit_tree(self) -> AuditTree: ...
    @property
    def cursors(self) -> CursorCodec: ...


class NotYetSigned(Conflict):
    """The event is newer than the newest signed tree head: ask again after the next one."""


async def prove_access_log_entry(
    uow: TreeUnitOfWork,
    customer_id: UUID,
    event_id: str,
    actor: Actor,
    request_id: str | None = None,
) -> tuple[AuditEvent, InclusionProof]:
    """The customer's access-log entry `event_id` and its inclusion proof against the newest
    signed tree head. NotFound when the event is not about this customer (or does not exist);
    NotYetSigned when no signed head covers it yet. The read is audited."""
    try:
        wanted: UUID | None = UUID(event_id)
    except ValueError:
        wanted = None
    async with uow:
        event = None if wanted is None else await uow.audit_tree.event_of(wanted, customer_id)
        if event is None:
            # Missing and someone else's are one answer; the attempt is still on record.
            await uow.audit.append(
                AuditRecord(
                    actor,
                    "prove",
                    ACCESS_LOG_RESOURCE,
                    outcome=Outcome.DENIED,
                    subject_id=customer_id,
                    resource_id=None if wanted is None else str(wanted),
                    request_id=request_id,
                )
            )
            await uow.commit()
            raise NotFound("no such access-log entry")
        head = await uow.audit_tree.newest_head()
        if head is None or head.tree_size < event.seq:
            raise NotYetSigned(
                "the entry is not covered by a signed tree head yet; ask again in a minute"
            )
        proof = await uow.audit_tree.inclusion(event.seq, head)
        await uow.audit.append(
            AuditRecord(
                actor,
                "prove",
                ACCESS_LOG_RESOURCE,
                subject_id=customer_id,
                resource_id=str(wanted),
                request_id=request_id,
            )
        )
        await uow.commit()
    return event, proof


async def list_tree_heads(
    uow: TreeUnitOfWork,
    actor: Actor,
    *,
    cursor: str | None,
    limit: int,
    request_id: str | None = None,
) -> Page[TreeHead]:
    """One page of signed tree heads, newest first (cursor signed); the read is audited."""
    async with uow:
        below = None
        if cursor is not None:
            below = uow.cursors.decode(TREE_HEADS_LIST, cursor).id.int
        heads = await uow.audit_tree.heads(below, limit + 1)
        await uow.audit.append(
            AuditRecord(actor, "list", "audit_tree_heads", request_id=request_id)
        )
        await uow.commit()
    more = len(heads) > limit
    heads = heads[:limit]
    next_cursor = None
    if more and heads:
        # The tree size is the key; it rides in the position's id (a UUID of that integer).
        last = heads[-1]
        position = Position(last.signed_at.astimezone(UTC), UUID(int=last.tree_size))
        next_cursor = uow.cursors.encode(TREE_HEADS_LIST, position)
    return Page(heads, next_cursor)


async def prove_consistency(
    uow: TreeUnitOfWork,
    actor: Actor,
    first: int,
    second: int,
    request_id: str | None = None,
) -> ConsistencyProof:
    """The proof that the signed tree of `first` events is a prefix of that of `second`.

    InvalidValue unless 1 <= first <= second; NotFound when either size has no signed head.
    The read is audited.
    """
    if first < 1:
        raise InvalidValue("first", "must be at least 1")
    if second < first:
        raise InvalidValue("second", "must not be smaller than first")
    async with uow:
        proof = await uow.audit_tree.consistency(first, second)
        await uow.audit.append(
            AuditRecord(
                actor,
                "prove",
                "audit_tree_heads",
                resource_id=f"{first}..{second}",
                request_id=request_id,
            )
        )
        await uow.commit()
    return proof
