"""The consent ledger: append-only events, one per change of a customer's consent.

The current state of a purpose is its latest event; no event means not granted (opt-in).
Every event carries a signed consent receipt (Kantara Consent Receipt v1.1 fields where they
apply) so the customer can prove what they agreed to without trusting our database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from domain.audit.events import Actor
from domain.consent.purposes import PurposeNotice

RECEIPT_VERSION = "KI-CR-v1.1.0"
CONTROLLER = {
    "piiController": "Custodian",
    "contact": "Privacy Office",
    "email": "privacy@custodian.example",
    "url": "https://custodian.example",
}
POLICY_URL = "https://custodian.example/privacy"


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One change of consent, as recorded in the ledger. `position` orders a purpose's
    events for one customer (1, 2, ...): the last one is the current state."""

    id: UUID
    customer_id: UUID
    purpose: str
    granted: bool
    notice_version: str
    recorded_at: datetime
    position: int
    actor: Actor
    collection_method: str
    receipt: str


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A purpose with the customer's current decision (None: never decided)."""

    notice: PurposeNotice
    latest: ConsentEvent | None

    @property
    def granted(self) -> bool:
        """Consent-based purposes are granted only by an event; contract ones always apply."""
        if not self.notice.consent_based:
            return True
        return self.latest is not None and self.latest.granted

    @property
    def outdated(self) -> bool:
        """True when the decision was made under an older notice version."""
        return self.latest is not None and self.latest.notice_version != self.notice.notice_version


class ConsentLedger(Protocol):
    """Storage of the purpose catalogue and the ledger, inside a unit of work."""

    async def notices(self) -> list[PurposeNotice]:
        """The current notice of every purpose, in catalogue order."""
        ...

    async def lock(self, customer_id: UUID, purpose: str) -> None:
        """Serialise changes to one customer's purpose until the transaction ends."""
        ...

    async def latest(self, customer_id: UUID, purpose: str) -> ConsentEvent | None:
        """The customer's newest event for the purpose."""
        ...

    async def latest_all(self, customer_id: UUID) -> dict[str, ConsentEvent]:
        """The customer's newest event per purpose."""
        ...

    async def append(self, event: ConsentEvent) -> None:
        """Add an event to the ledger (never updates one)."""
        ...

    async def history(self, customer_id: UUID) -> list[ConsentEvent]:
        """Every event of the customer, oldest first."""
        ...


class ReceiptSigner(Protocol):
    """Signs receipts with the published consent-receipt key."""

    @property
    def kid(self) -> str:
        """The key id, as JWKS publishes it."""
        ...

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS (EdDSA) over the claims."""
        ...

    def pseudonym(self, customer_id: UUID) -> str:
        """A stable pseudonymous id of the customer (keyed hash; reveals nothing)."""
        ...


def receipt_claims(
    *,
    receipt_id: UUID,
    at: datetime,
    principal: str,
    notice: PurposeNotice,
    granted: bool,
    collection_method: str,
    kid: str,
) -> dict[str, Any]:
    """The Kantara v1.1 receipt document for one consent decision."""
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": "EU",
        "consentTimestamp": int(at.astimezone(UTC).timestamp()),
        "collectionMethod": collection_method,
        "consentReceiptID": str(receipt_id),
        "publicKey": kid,
        "language": "en",
        "piiPrincipalId": principal,
        "piiControllers": [CONTROLLER],
        "policyUrl": POLICY_URL,
        "services": [
            {
                "service": "Custodian",
                "purposes": [
                    {
                        "purpose": notice.purpose,
                        "purposeCategory": [notice.purpose],
                        "consentType": "EXPLICIT",
                        "purposeTermination": notice.retention,
                        "thirdPartyDisclosure": bool(notice.recipients),
                        "noticeVersion": notice.notice_version,
                        "piiCategory": list(notice.data_categories),
                        "granted": granted,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
    }


def states(
    notices: Sequence[PurposeNotice], latest: Mapping[str, ConsentEvent]
) -> list[ConsentState]:
    """Each purpose with the customer's latest decision, in catalogue order."""
    return [ConsentState(notice, latest.get(notice.purpose)) for notice in notices]
