"""The purpose catalogue: why Custodian processes personal data, under which notice.

Each purpose has a legal basis and a plain-language notice. Changing a notice's text makes
a new notice version; consent given under an older version stays recorded as such, and new
consent must name the current version (so nobody agrees to words they were not shown).
The catalogue itself is seeded by migration 0005 and read through `ConsentLedger`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import Conflict, DomainError, NotFound

SERVICE_DELIVERY = "service_delivery"
"""Processing needed to deliver the contract: not based on consent, so not withdrawable."""

PURPOSE_CODES: tuple[str, ...] = (
    SERVICE_DELIVERY,
    "marketing_email",
    "marketing_sms",
    "personalised_offers",
    "analytics",
    "third_party_sharing",
    "research",
)
"""Every purpose, in the order the customer sees them."""

CHANNEL_PURPOSES: dict[str, str] = {"email": "marketing_email", "sms": "marketing_sms"}
"""The consent that makes a marketing channel usable."""


@dataclass(frozen=True, slots=True)
class PurposeNotice:
    """One version of a purpose's notice, as shown to the customer."""

    purpose: str
    notice_version: str
    legal_basis: str
    description: str
    data_categories: tuple[str, ...]
    recipients: tuple[str, ...]
    retention: str
    withdrawable: bool
    published_at: datetime

    @property
    def consent_based(self) -> bool:
        """Whether the customer's consent is what makes this processing lawful."""
        return self.legal_basis == "consent"


class UnknownPurpose(NotFound):
    """No purpose has this code."""


class OutdatedNotice(Conflict):
    """Consent named a notice version that is not the current one."""

    def __init__(self, purpose: str, given: str, current: str) -> None:
        super().__init__(
            f"notice version {given!r} of {purpose} is not current; "
            f"the current notice version is {current!r}"
        )
        self.current_version = current


class NotWithdrawable(DomainError):
    """The purpose is not based on consent, so there is nothing to withdraw."""

    def __init__(self, purpose: str) -> None:
        super().__init__(
            f"{purpose} is processing needed to deliver your contract, not "
            "processing based on consent, so it cannot be withdrawn; to stop it, "
            "close your accounts or ask for erasure"
        )
