"""The customer aggregate and the profile the customer can read and correct."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from domain.values import Email, PhoneNumber, PostalAddress


class CustomerStatus(StrEnum):
    """Where the customer stands: restriction and erasure change what may be done with data."""

    ACTIVE = "active"
    RESTRICTED = "restricted"
    ERASED = "erased"


class AcquisitionChannel(StrEnum):
    """How the customer came to the organisation."""

    WEB = "web"
    APP = "app"
    BRANCH = "branch"
    PHONE = "phone"
    REFERRAL = "referral"
    PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class Customer:
    """The aggregate root. Holds no personal data itself, only ids and status."""

    id: UUID
    status: CustomerStatus
    created_at: datetime
    acquisition_channel: AcquisitionChannel
    referred_by: UUID | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """The customer's own details. `version` is the optimistic-concurrency ETag."""

    customer_id: UUID
    given_name: str
    family_name: str
    email: Email
    version: int = 1
    preferred_name: str | None = None
    phone: PhoneNumber | None = None
    address: PostalAddress | None = None
    date_of_birth: date | None = None
    language: str = "en"


class ChangeActor(StrEnum):
    """Who made a profile change."""

    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class ProfileChange:
    """One changed field of the profile, kept so the customer can see their history."""

    id: UUID
    customer_id: UUID
    version: int
    field: str
    old_value: str | None
    new_value: str | None
    actor: ChangeActor
    actor_id: str | None
    at: datetime
    # The OAuth client (app) the change came through; None when not recorded.
    client_id: str | None = None
