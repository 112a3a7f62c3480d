"""What campaign coordination needs from storage: facts for the policy, recorded contacts
and the customer's contact preferences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from domain.campaigns.policy import ContactFacts
from domain.campaigns.preferences import ContactPreferences
from domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class RecordedContact:
    """A marketing contact a campaign tool said it sent. Ids, codes and a time only."""

    id: UUID
    customer_id: UUID
    campaign_id: str
    channel: str
    sent_at: datetime
    client_id: str
    idempotency_key: str


class ContactStore(Protocol):
    """Storage of contacts and preferences, inside a unit of work (never commits)."""

    async def facts(
        self, customer_ids: Sequence[UUID], purpose: str, now: datetime, cool_off: timedelta
    ) -> dict[UUID, ContactFacts]:
        """The policy's facts for every known customer among `customer_ids` (unknown ids
        are absent), in a fixed number of queries whatever the number of ids."""
        ...

    async def lock_customer(self, customer_id: UUID) -> None:
        """Serialise contact decisions for one customer until the transaction ends."""
        ...

    async def contact_by_key(self, client_id: str, idempotency_key: str) -> RecordedContact | None:
        """The contact recorded earlier by this client under this key, if any."""
        ...

    async def add_contact(self, contact: RecordedContact) -> None:
        """Store a recorded contact; Conflict when the client's key is already taken."""
        ...

    async def contacts_since(self, customer_id: UUID, since: datetime) -> list[RecordedContact]:
        """The customer's recorded contacts at or after `since`, oldest first."""
        ...

    async def forget(self, customer_id: UUID) -> None:
        """Delete the customer's preferences and recorded contacts (erasure)."""
        ...

    async def preferences(self, customer_id: UUID) -> ContactPreferences:
        """The customer's preferences (the defaults, version 0, when never set)."""
        ...

    async def save_preferences(
        self, customer_id: UUID, preferences: ContactPreferences, at: datetime
    ) -> ContactPreferences:
        """Store `preferences` at the next version after the stored one; returns them."""
        ...


class CampaignUnitOfWork(UnitOfWork, Protocol):
    """The unit of work, with contacts and contact preferences."""

    @property
    def campaigns(self) -> ContactStore: ...
