"""Correction requests: the customer asks for data they cannot edit themselves to be fixed.

A request targets one field of one record the customer owns (an account's name, a
transaction's description or category, an interaction's summary or outcome). A privacy
officer applies or rejects it; applying changes the record and keeps the value it replaced
on the request, which is the record's correction history. The answer is due one month after
receipt, as for every data-subject request (domain.deadlines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from domain.errors import Conflict


class TargetType(StrEnum):
    """The kind of record a correction request targets."""

    ACCOUNT = "account"
    TRANSACTION = "transaction"
    INTERACTION = "interaction"


CORRECTABLE_FIELDS: dict[TargetType, frozenset[str]] = {
    TargetType.ACCOUNT: frozenset({"name"}),
    TargetType.TRANSACTION: frozenset({"description", "category"}),
    TargetType.INTERACTION: frozenset({"summary", "outcome"}),
}
"""The only fields a correction request may name (an allow-list: no mass assignment)."""

FIELD_MAX_LENGTH: dict[str, int] = {
    "name": 100,
    "description": 500,
    "category": 50,
    "summary": 2000,
    "outcome": 500,
}
FREE_TEXT_FIELDS = frozenset({"summary", "outcome"})
"""The fields that may span lines (an interaction's notes); the others are one line of text."""


class CorrectionStatus(StrEnum):
    """Where a request stands. `submitted` and `in_review` are pending."""

    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    APPLIED = "applied"
    REJECTED = "rejected"

    @property
    def pending(self) -> bool:
        """Whether an officer still has to decide."""
        return self in (CorrectionStatus.SUBMITTED, CorrectionStatus.IN_REVIEW)


class Decision(StrEnum):
    """What a privacy officer decides."""

    APPLY = "apply"
    REJECT = "reject"


class AlreadyDecided(Conflict):
    """The request was already applied or rejected."""


@dataclass(frozen=True, slots=True)
class CorrectionRequest:
    """One request and, once decided, its outcome."""

    id: UUID
    customer_id: UUID
    target_type: TargetType
    target_id: UUID
    field: str
    current_value: str | None
    requested_value: str
    reason: str
    status: CorrectionStatus
    received_at: datetime
    due_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    previous_value: str | None = None


class CorrectionRepository(Protocol):
    async def add(self, request: CorrectionRequest) -> None:
        """Store a new request (values sealed)."""
        ...

    async def get(
        self,
        request_id: UUID,
        customer_id: UUID | None = None,
    ) -> CorrectionRequest | None:
        """The request (only the customer's, when `customer_id` is given), or None."""
        ...

    async def list_for_customer(
        self,
        customer_id: UUID,
        *,
        limit: int,
        before: tuple[datetime, UUID] | None = None,
    ) -> Sequence[CorrectionRequest]:
        """The customer's requests, newest first."""
        ...

    async def list_received(
        self,
        *,
        pending: bool | None,
        limit: int,
        before: tuple[datetime, UUID] | None = None,
    ) -> Sequence[CorrectionRequest]:
        """Every customer's requests, newest first: only those awaiting a decision when
        `pending` is True, only decided ones when False. Requests of erased customers are
        left out (their texts are destroyed)."""
        ...

    async def has_pending(self, target_id: UUID, field: str) -> bool:
        """Whether a pending request already names this field of this record."""
        ...

    async def save_decision(self, request: CorrectionRequest) -> None:
        """Store the decision fields of a decided request."""
        ...

    async def current_value(
        self, customer_id: UUID, target_type: TargetType, target_id: UUID, field: str
    ) -> tuple[bool, str | None]:
        """(exists, value): whether the customer owns the record, and the field's value."""
        ...

    async def set_value(
        self, customer_id: UUID, target_type: TargetType, target_id: UUID, field: str, value: str
    ) -> None:
        """Change the field of the record (sealed as the record's other values are)."""
        ...
