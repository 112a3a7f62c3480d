"""Checking the stored audit log against the Merkle tree heads it must extend.

`TreeChecker` is fed every event's leaf in seq order (after the hash chain accepted it) and
compares the running root with every known tree head of that size: the heads signed into
the database and the heads an officer witnessed outside it. It catches what the chain alone
cannot: a suffix rewritten with recomputed hashes (the leaves recorded at append time, or a
signed root, differ) and a truncated tail (a head is bigger than the log). Constant memory
besides the heads: the frontier is O(log n).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.audit.merkle import Frontier
from domain.errors import DomainError


class AuditLogBroken(DomainError):
    """The stored tree does not match the log's head (someone changed the database behind
    Custodian's back): appends are refused, so nothing is audited into a tree that cannot be
    trusted, until an officer has investigated (`custodian audit verify --against`)."""


@dataclass(frozen=True, slots=True)
class KnownHead:
    """A tree head the log must extend; `source` says where it came from (for messages)."""

    tree_size: int
    root_hash: bytes
    source: str


@dataclass(frozen=True, slots=True)
class TreeBreak:
    """The first event at which the stored log stops extending a known head."""

    seq: int
    reason: str


def _events(first: int, last: int) -> str:
    return f"event {first}" if first == last else f"events {first} to {last}"


@dataclass(slots=True)
class TreeChecker:
    """Feed `add` each accepted event's leaf in seq order, then call `finish`."""

    heads: list[KnownHead]
    frontier: Frontier = field(default_factory=Frontier)
    failure: TreeBreak | None = None
    heads_checked: int = 0
    _next: int = 0
    _proven: int = 0  # events covered by a head that matched

    @classmethod
    def of(cls, heads: Iterable[KnownHead]) -> TreeChecker:
        """A checker for `heads` (any order, duplicates allowed)."""
        ordered = sorted(heads, key=lambda head: head.tree_size)
        return cls([head for head in ordered if head.tree_size > 0])

    def add(self, seq: int, leaf: bytes, recorded_leaf: bytes | None) -> TreeBreak | None:
        """Take event `seq`'s leaf; `recorded_leaf` is the leaf stored when it was appended."""
        if self.failure is not None:
            return self.failure
        if recorded_leaf is not None and recorded_leaf != leaf:
            return self._fail(
                seq, "event differs from the leaf recorded when it was appended (altered)"
            )
        self.frontier.append(leaf)
        size = self.frontier.size
        # Heads of one size (a witnessed one, and one the database signed over a rewrite) may
        # disagree: the break lies after the last smaller head that held, whichever came first.
        first = self._proven + 1
        while self._next < len(self.heads) and self.heads[self._next].tree_size == size:
            head = self.heads[self._next]
            if head.root_hash != self.frontier.root():
                return self._fail(
                    first,
                    f"{_events(first, size)} differ from the {head.source} of {size} events "
                    "(rewritten)",
                )
            self._proven = size
            self.heads_checked += 1
            self._next += 1
        return None

    def finish(
        self,
        recorded_frontier: bytes | None = None,
        leaves_recorded: int | None = None,
        oldest_unsigned_at: datetime | None = None,
        now: datetime | None = None,
        stale_after: timedelta | None = None,
    ) -> TreeBreak | None:
        """After the last event: heads beyond the log, leaves recorded beyond it, a frontier
        that is not this tree's, or events left unsigned for longer than the signing timer
        allows (which happens when signed heads were deleted)."""
        if self.failure is not None:
            return self.failure
        size = self.frontier.size
        if self._next < len(self.heads):
            head = self.heads[-1]
            return self._fail(
                size + 1,
                f"{_events(size + 1, head.tree_size)} missing: the {head.source} covers "
                f"{head.tree_size} events, the log has {size} (the end was deleted)",
            )
        if leaves_recorded is not None and leaves_recorded > size:
            return self._fail(
                size + 1,
                f"{_events(size + 1, leaves_recorded)} missing: their tree leaves are still "
                "recorded (the end was deleted)",
            )
        if recorded_frontier is not None and recorded_frontier != self.frontier.encode():
            return self._fail(size, "the recorded tree frontier differs from the events")
        if (
            oldest_unsigned_at is not None
            and now is not None
            and stale_after is not None
            and now - oldest_unsigned_at > stale_after
        ):
            return self._fail(
                self._proven + 1,
                f"events from {self._proven + 1} on are older than the tree head interval "
                "allows, yet no signed tree head covers them (tree heads were deleted)",
            )
        return None

    @property
    def newest_proven(self) -> int:
        """How many events the largest matching head covers."""
        return self._proven

    def _fail(self, seq: int, reason: str) -> TreeBreak:
        self.failure = TreeBreak(seq, reason)
        return self.failure
