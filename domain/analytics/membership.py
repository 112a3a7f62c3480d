"""Who belongs in the analytics projection, and the port that keeps it so.

A customer is a member only while all of these hold: their latest `analytics` consent
event is a grant on the purpose's current notice version, their status is active (not
restricted, not erased), they have not objected since that grant, and no erasure of theirs
is waiting (queued or running: the grace period). Anything else removes every row of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

ANALYTICS_PURPOSE = "analytics"


@dataclass(frozen=True, slots=True)
class MembershipFacts:
    """What the membership rule looks at, for one customer."""

    status: str
    consent_granted: bool
    consent_notice_version: str | None
    current_notice_version: str | None
    granted_at: datetime | None
    objected_at: datetime | None
    erasure_pending: bool


def is_member(facts: MembershipFacts) -> bool:
    """Whether the customer belongs in the projection (see the module docstring)."""
    if not facts.consent_granted or facts.granted_at is None:
        return False
    if facts.consent_notice_version != facts.current_notice_version:
        return False
    if facts.status != "active" or facts.erasure_pending:
        return False
    return facts.objected_at is None or facts.objected_at < facts.granted_at


@dataclass(frozen=True, slots=True)
class Membership:
    """A customer's standing in the projection, as they are told it."""

    member: bool
    since: datetime | None


class AnalyticsProjection(Protocol):
    """The projection, as the use cases that change a customer's standing see it. Both
    methods work inside the caller's transaction, so membership changes with the change
    that caused it, or not at all."""

    async def add(self, customer_id: UUID) -> bool:
        """(Re)project the customer if the membership rule admits them, else remove them.
        Returns whether they are a member afterwards."""
        ...

    async def remove(self, customer_id: UUID) -> None:
        """Delete every row of the customer from the projection."""
        ...

    async def membership(self, customer_id: UUID) -> Membership:
        """Whether the customer is in the projection now, and since when."""
        ...
