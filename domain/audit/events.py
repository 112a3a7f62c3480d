"""The audit log's events and the hash chain that makes them tamper-evident.

Each event's hash is SHA-256 over a canonical JSON encoding of every field, including the
previous event's hash and the event's sequence number. Changing, deleting, inserting or
reordering any stored event therefore breaks the chain at a point `ChainVerifier` names.
Events carry ids and field names, never personal data values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from domain.audit.merkle import leaf_hash

GENESIS_HASH = bytes(32)
"""The `prev_hash` of the first event."""


class ActorType(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    SERVICE = "service"
    SYSTEM = "system"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a customer, a staff member (with role), a service client, or the system."""

    type: ActorType
    id: str | None = None
    client_id: str | None = None
    role: str | None = None


SYSTEM_ACTOR = Actor(ActorType.SYSTEM, "custodian")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What a use case asks the audit sink to append. Ids and field names only."""

    actor: Actor
    action: str
    resource_type: str
    outcome: Outcome = Outcome.ALLOWED
    subject_id: UUID | None = None
    resource_id: str | None = None
    fields: tuple[str, ...] = ()
    purpose: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """An appended event: the record plus its place in the chain."""

    seq: int
    id: UUID
    at: datetime
    record: AuditRecord
    prev_hash: bytes
    hash: bytes


def _utc_text(moment: datetime) -> str:
    # Naive datetimes come back from SQLite; every stored time is UTC.
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(
    seq: int, event_id: UUID, at: datetime, record: AuditRecord, prev_hash: bytes
) -> bytes:
    """The exact bytes an event's hash covers: sorted-key, whitespace-free, ASCII JSON."""
    document = {
        "seq": seq,
        "id": str(event_id),
        "at": _utc_text(at),
        "actor_type": record.actor.type.value,
        "actor_id": record.actor.id,
        "actor_role": record.actor.role,
        "client_id": record.actor.client_id,
        "subject_id": str(record.subject_id) if record.subject_id is not None else None,
        "action": record.action,
        "resource_type": record.resource_type,
        "resource_id": record.resource_id,
        "fields": list(record.fields),
        "purpose": record.purpose,
        "outcome": record.outcome.value,
        "request_id": record.request_id,
        "prev_hash": prev_hash.hex(),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


def chain_hash(
    seq: int, event_id: UUID, at: datetime, record: AuditRecord, prev_hash: bytes
) -> bytes:
    """The hash that seals an event onto the chain after `prev_hash`."""
    return hashlib.sha256(canonical_bytes(seq, event_id, at, record, prev_hash)).digest()


def event_leaf_hash(event: AuditEvent) -> bytes:
    """The event's leaf in the Merkle tree: RFC 9162 leaf hash of the same canonical bytes
    the chain hash covers (so leaf index seq - 1 commits to the chain too)."""
    return leaf_hash(canonical_bytes(event.seq, event.id, event.at, event.record, event.prev_hash))


def seal(
    seq: int, event_id: UUID, at: datetime, record: AuditRecord, prev_hash: bytes
) -> AuditEvent:
    """Build the chained event for `record` at position `seq`."""
    return AuditEvent(
        seq, event_id, at, record, prev_hash, chain_hash(seq, event_id, at, record, prev_hash)
    )


def seal_with_leaf(
    seq: int, event_id: UUID, at: datetime, record: AuditRecord, prev_hash: bytes
) -> tuple[AuditEvent, bytes]:
    """`seal` and `event_leaf_hash` of the sealed event, from one rendering of its
    canonical bytes (appending needs both)."""
    canonical = canonical_bytes(seq, event_id, at, record, prev_hash)
    event = AuditEvent(seq, event_id, at, record, prev_hash, hashlib.sha256(canonical).digest())
    return event, leaf_hash(canonical)


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place where the stored chain is not what was appended."""

    seq: int
    event_id: UUID | None
    reason: str


@dataclass(slots=True)
class ChainVerifier:
    """Checks events one at a time, in `seq` order, in constant memory.

    Feed every stored event, then call `finish` with the head the store recorded, if any.
    """

    checked: int = 0
    head_hash: bytes = GENESIS_HASH
    failure: ChainBreak | None = None
    _next_seq: int = field(default=1, repr=False)
    # The last accepted event's id and the hash before it: enough to tell an event slipped
    # in between two genuine ones (the next genuine event chains onto the one before it),
    # still in constant memory.
    _head_id: UUID | None = field(default=None, repr=False)
    _hash_before_head: bytes = field(default=GENESIS_HASH, repr=False)

    def feed(self, event: AuditEvent) -> ChainBreak | None:
        """Check one event against everything before it; remember the first break."""
        expected = chain_hash(event.seq, event.id, event.at, event.record, event.prev_hash)
        return self.feed_hashed(event.seq, event.id, event.prev_hash, event.hash, expected)

    def feed_hashed(
        self,
        seq: int,
        event_id: UUID | None,
        prev_hash: bytes,
        stored_hash: bytes,
        computed_hash: bytes,
    ) -> ChainBreak | None:
        """`feed` for a caller that hashed the event's canonical bytes itself (a fast
        verification walk that builds them straight from stored columns)."""
        position = self._check_position(seq, event_id)
        if position is not None:
            return position
        if prev_hash != self.head_hash:
            if self.checked > 0 and prev_hash == self._hash_before_head:
                # This event chains onto the one two places back, so the event just
                # accepted (well formed as it is) was put between them afterwards: take
                # it back out of the verified part and name it.
                self.checked -= 1
                self.head_hash = self._hash_before_head
                return self._fail(
                    seq - 1,
                    self._head_id,
                    "event was inserted (the next event does not chain onto it)",
                )
            return self._fail(
                seq,
                event_id,
                "prev_hash does not match the previous event (the previous event "
                "was altered and re-hashed, or events were deleted, inserted or "
                "reordered here)",
            )
        if computed_hash != stored_hash:
            return self._fail(seq, event_id, "contents do not match the event's hash (altered)")
        self.checked += 1
        self._hash_before_head = self.head_hash
        self.head_hash = stored_hash
        self._head_id = event_id
        self._next_seq += 1
        return None

    def reject(self, seq: int, event_id: UUID | None, reason: str) -> ChainBreak:
        """Record a stored event that cannot even be read back as an event (altered).

        The same order checks as `feed` apply first, so a gap before it is still named
        as the first break.
        """
        return self._check_position(seq, event_id) or self._fail(seq, event_id, reason)

    def _check_position(self, seq: int, event_id: UUID | None) -> ChainBreak | None:
        if self.failure is not None:
            return self.failure
        if seq > self._next_seq:
            return self._fail(
                self._next_seq, None, f"{_events(self._next_seq, seq - 1)} missing (deleted)"
            )
        if seq < self._next_seq:
            return self._fail(
                seq, event_id, "event is out of order or duplicated (inserted or reordered)"
            )
        return None

    def finish(
        self, recorded_count: int | None = None, recorded_hash: bytes | None = None
    ) -> ChainBreak | None:
        """Compare the end of the walk with the head the store recorded on every append."""
        if self.failure is None and recorded_count is not None:
            if recorded_count > self.checked:
                self._fail(
                    self.checked + 1,
                    None,
                    f"{_events(self.checked + 1, recorded_count)} missing "
                    "(the end of the log was deleted)",
                )
            elif recorded_count < self.checked:
                self._fail(
                    recorded_count + 1, None, "events were appended outside Custodian (inserted)"
                )
            elif recorded_hash is not None and recorded_hash != self.head_hash:
                self._fail(self.checked, None, "the last event differs from the recorded head")
        return self.failure

    def _fail(self, seq: int, event_id: UUID | None, reason: str) -> ChainBreak:
        self.failure = ChainBreak(seq, event_id, reason)
        return self.failure


def _events(first: int, last: int) -> str:
    return f"event {first} is" if first == last else f"events {first} to {last} are"
