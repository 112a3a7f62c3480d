"""Request and response bodies of the consent routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from api.actor import Actor, actor_of
from domain.consent.ledger import ConsentEvent, ConsentState
from domain.consent.purposes import PurposeNotice


class ConsentDecision(msgspec.Struct, forbid_unknown_fields=True):
    """Grant (true) or withdraw (false) consent under the notice version the customer saw."""

    granted: bool
    notice_version: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class Purpose(msgspec.Struct):
    """Why one kind of processing happens, on which legal basis, for how long: a purpose's
    current notice."""

    purpose: str
    notice_version: str
    legal_basis: str
    description: str
    data_categories: list[str]
    recipients: list[str]
    retention: str
    withdrawable: bool


class ConsentStatus(Purpose):
    """One purpose (its code and current notice, inline) and the customer's current decision
    about it: `notice_version` is the notice shown now, `consented_notice_version` the one the
    last decision was made under."""

    granted: bool
    consented_notice_version: str | None
    decided_at: datetime | None
    outdated_notice: bool
    receipt_id: str | None


class ConsentList(msgspec.Struct):
    """Every purpose with its current state."""

    items: list[ConsentStatus]
    next_cursor: str | None = None


SIGNED_RECEIPT = (
    "The decision's consent receipt (Kantara Consent Receipt v1.1) as a compact JWS signed "
    "with EdDSA: verify it with the key named by its `kid` in /.well-known/jwks.json. Its "
    "claims repeat `receipt_id` (`consentReceiptID`), the purpose, notice version and "
    "decision, with a pseudonymous id of the customer."
)


class ConsentReceipt(msgspec.Struct):
    """One ledger entry with its signed receipt (compact JWS, EdDSA; key in JWKS)."""

    receipt_id: str
    purpose: str
    granted: bool
    notice_version: str
    recorded_at: datetime
    position: int
    actor: Actor
    """Who recorded the decision: the kind of actor and the app it came through."""
    signed_receipt: Annotated[str, msgspec.Meta(description=SIGNED_RECEIPT)]


class ConsentHistory(msgspec.Struct):
    """The customer's ledger, oldest first."""

    items: list[ConsentReceipt]
    next_cursor: str | None = None


def purpose_out(notice: PurposeNotice) -> Purpose:
    """The notice as the API shows it."""
    return Purpose(
        purpose=notice.purpose,
        notice_version=notice.notice_version,
        legal_basis=notice.legal_basis,
        description=notice.description,
        data_categories=list(notice.data_categories),
        recipients=list(notice.recipients),
        retention=notice.retention,
        withdrawable=notice.withdrawable,
    )


def consent_status(state: ConsentState) -> ConsentStatus:
    """A purpose's current state as the API shows it."""
    latest = state.latest
    return ConsentStatus(
        **msgspec.structs.asdict(purpose_out(state.notice)),
        granted=state.granted,
        consented_notice_version=latest.notice_version if latest else None,
        decided_at=latest.recorded_at if latest else None,
        outdated_notice=state.outdated,
        receipt_id=str(latest.id) if latest else None,
    )


def consent_receipt(event: ConsentEvent) -> ConsentReceipt:
    """A ledger entry as the API shows it."""
    return ConsentReceipt(
        receipt_id=str(event.id),
        purpose=event.purpose,
        granted=event.granted,
        notice_version=event.notice_version,
        recorded_at=event.recorded_at,
        position=event.position,
        actor=actor_of(event.actor.type.value, client=event.actor.client_id),
        signed_receipt=event.receipt,
    )
