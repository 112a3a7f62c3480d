"""The JSON shapes of the self-service routes (msgspec Structs; they are the OpenAPI schemas)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from api.actor import Actor, actor_of
from domain.customer.accounts import Account as DomainAccount
from domain.customer.accounts import Transaction as DomainTransaction
from domain.customer.accounts import TransactionDirection, TransactionStatus
from domain.customer.corrections import CorrectionRequest as DomainCorrectionRequest
from domain.customer.interactions import Interaction as DomainInteraction
from domain.customer.profile import Profile as DomainProfile
from domain.customer.profile import ProfileChange as DomainProfileChange
from domain.values import FREE_TEXT_CHARACTERS_PATTERN

Cursor = str | None


class Address(msgspec.Struct):
    """A postal address; `country` is ISO 3166-1 alpha-2."""

    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    region: str | None = None


class Profile(msgspec.Struct):
    """The customer's profile. `version` is also sent as the ETag."""

    version: int
    given_name: str
    family_name: str
    email: str
    language: str
    preferred_name: str | None
    phone: str | None
    address: Address | None
    date_of_birth: date | None


class ProfileChange(msgspec.Struct):
    """One changed field: the version it produced, old and new value, who and when."""

    version: int
    field: str
    old_value: str | None
    new_value: str | None
    actor: Actor
    """Who made the change: the customer, a staff member or Custodian (the kind only), and
    the app it came through (`client`; null when not recorded, as for changes made before
    Custodian recorded it)."""
    at: datetime


class ProfileHistoryPage(msgspec.Struct):
    """A page of profile changes, newest first."""

    items: list[ProfileChange]
    next_cursor: Cursor


class Account(msgspec.Struct):
    """An account; the number only ever masked (last four digits)."""

    id: str
    type: str
    name: str
    masked_number: str
    currency: str
    status: str
    opened_at: datetime
    closed_at: datetime | None
    balance: str


class AccountList(msgspec.Struct):
    """Every account of the customer (never more than a handful, so one page)."""

    items: list[Account]
    next_cursor: Cursor = None


class Transaction(msgspec.Struct):
    """A transaction; `amount` is a positive decimal string, `direction` gives the sign."""

    id: UUID
    account_id: UUID
    booked_at: datetime
    value_date: date
    amount: str
    currency: str
    direction: TransactionDirection
    status: TransactionStatus
    description: str
    category: str
    merchant: str | None
    reference: str | None


class TransactionPage(msgspec.Struct):
    """A page of transactions, newest first."""

    items: list[Transaction]
    next_cursor: Cursor


class Interaction(msgspec.Struct):
    """A contact between the customer and the organisation."""

    id: str
    occurred_at: datetime
    channel: str
    direction: str
    kind: str
    summary: str
    outcome: str | None
    satisfaction: int | None
    campaign: str | None


class InteractionPage(msgspec.Struct):
    """A page of interactions, newest first."""

    items: list[Interaction]
    next_cursor: Cursor


# At least one non-blank character, since values are compared after stripping: "not blank"
# the same way in Python and in JSON Schema (ECMA) regexes, whose `\s` differ on
# U+001C-U+001F, U+0085 (Python only) and U+FEFF (ECMA only). The longest correctable
# field takes 500 characters; shorter ones (FIELD_MAX_LENGTH) answer 422.
NON_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"
# Nor may the text hold a control or bidirectional-override character other than a line
# break or a tab (domain.values.free_text; a name, a description or a category, one line of
# text, not even those): the domain answers 422, and the document says so in the pattern.
_NOT_FREE = FREE_TEXT_CHARACTERS_PATTERN[1:-1]
_FREE_TEXT = rf"^[^{_NOT_FREE}]*[^\s\x1c-\x1f\x85\ufeff{_NOT_FREE}][^{_NOT_FREE}]*$"
_DOCUMENTED_FREE_TEXT = {"extra": {"pattern": _FREE_TEXT}}
Text = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=500, pattern=NON_BLANK, extra_json_schema=_DOCUMENTED_FREE_TEXT
    ),
]
Reason = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=1000, pattern=NON_BLANK, extra_json_schema=_DOCUMENTED_FREE_TEXT
    ),
]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


# The targets ignore unknown members (the OpenAPI generator cannot mark nested tagged
# structs `additionalProperties: false`, and an ignored extra key assigns nothing); the
# request itself refuses unknown members, as documented.
class AccountTarget(msgspec.Struct, tag_field="type", tag="account"):
    """An account field the customer cannot edit."""

    id: Id
    field: Literal["name"]


class TransactionTarget(msgspec.Struct, tag_field="type", tag="transaction"):
    """A transaction field the customer cannot edit."""

    id: Id
    field: Literal["description", "category"]


class InteractionTarget(msgspec.Struct, tag_field="type", tag="interaction"):
    """An interaction field the customer cannot edit."""

    id: Id
    field: Literal["summary", "outcome"]


class CorrectionRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A correction request: the field of a record, the value wanted, and why."""

    target: AccountTarget | TransactionTarget | InteractionTarget
    requested_value: Text
    reason: Reason


class CorrectionTarget(msgspec.Struct):
    """The record field a correction request names."""

    type: str
    id: str
    field: str


class CorrectionOutcome(msgspec.Struct):
    """The privacy officer's decision."""

    outcome: str
    reason: str | None
    decided_at: datetime


class Correction(msgspec.Struct):
    """A correction request and, once decided, its outcome. `previous_value` is the value an
    applied correction replaced."""

    id: str
    target: CorrectionTarget
    current_value: str | None
    requested_value: str
    reason: str
    status: str
    received_at: datetime
    due_at: datetime
    decision: CorrectionOutcome | None
    previous_value: str | None


class CorrectionPage(msgspec.Struct):
    """A page of correction requests, newest first."""

    items: list[Correction]
    next_cursor: Cursor


class ReceivedCorrection(Correction, kw_only=True):
    """A correction request as the privacy officer receives it: what the customer asked
    (the record, the field, its value when asked, the value wanted, why) and whose it is."""

    customer_id: str


class ReceivedCorrectionPage(msgspec.Struct):
    """A page of customers' correction requests, newest first."""

    items: list[ReceivedCorrection]
    next_cursor: Cursor


class CorrectionDecision(msgspec.Struct, forbid_unknown_fields=True):
    """Apply or reject a correction request, with the reason the customer will read."""

    decision: Literal["apply", "reject"]
    reason: Reason


def received_out(request: DomainCorrectionRequest) -> ReceivedCorrection:
    """A customer's correction request as the officer receives it."""
    shown = correction_out(request)
    fields = {name: getattr(shown, name) for name in Correction.__struct_fields__}
    return ReceivedCorrection(**fields, customer_id=str(request.customer_id))


def profile_out(profile: DomainProfile) -> Profile:
    """The profile as sent."""
    address = profile.address
    return Profile(
        version=profile.version,
        given_name=profile.given_name,
        family_name=profile.family_name,
        email=profile.email.value,
        language=profile.language,
        preferred_name=profile.preferred_name,
        phone=None if profile.phone is None else profile.phone.value,
        address=None
        if address is None
        else Address(
            line1=address.line1,
            city=address.city,
            postal_code=address.postal_code,
            country=address.country,
            line2=address.line2,
            region=address.region,
        ),
        date_of_birth=profile.date_of_birth,
    )


def change_out(change: DomainProfileChange) -> ProfileChange:
    """A profile change as sent."""
    return ProfileChange(
        version=change.version,
        field=change.field,
        old_value=change.old_value,
        new_value=change.new_value,
        actor=actor_of(change.actor.value, client=change.client_id),
        at=change.at,
    )


def account_out(account: DomainAccount) -> Account:
    """An account as sent: masked number, balance as a decimal string."""
    return Account(
        id=str(account.id),
        type=account.type.value,
        name=account.name,
        masked_number=account.masked_number,
        currency=account.currency,
        status=account.status.value,
        opened_at=account.opened_at,
        closed_at=account.closed_at,
        balance=str(account.balance),
    )


def transaction_out(transaction: DomainTransaction) -> Transaction:
    """A transaction as sent. Its ids and kinds go as they are: the encoder writes a UUID's
    text and an enumeration's value itself, for a page of fifty at a fraction of what
    `str()` and `.value` cost in Python. The domain's transaction is a tuple: unpacked and
    passed by position, its fields cost about a quarter less than read by name."""
    (
        transaction_id,
        _customer_id,
        account_id,
        booked_at,
        value_date,
        amount,
        currency,
        direction,
        status,
        description,
        category,
        merchant,
        reference,
    ) = transaction
    return Transaction(
        transaction_id,
        account_id,
        booked_at,
        value_date,
        str(amount),
        currency,
        direction,
        status,
        description,
        category,
        merchant,
        reference,
    )


def interaction_out(interaction: DomainInteraction) -> Interaction:
    """An interaction as sent."""
    return Interaction(
        id=str(interaction.id),
        occurred_at=interaction.occurred_at,
        channel=interaction.channel.value,
        direction=interaction.direction.value,
        kind=interaction.kind.value,
        summary=interaction.summary,
        outcome=interaction.outcome,
        satisfaction=interaction.satisfaction,
        campaign=interaction.campaign,
    )


def correction_out(request: DomainCorrectionRequest) -> Correction:
    """A correction request as sent."""
    decision = None
    if request.decided_at is not None:
        decision = CorrectionOutcome(
            outcome=request.status.value,
            reason=request.decision_reason,
            decided_at=request.decided_at,
        )
    return Correction(
        id=str(request.id),
        target=CorrectionTarget(
            type=request.target_type.value, id=str(request.target_id), field=request.field
        ),
        current_value=request.current_value,
        requested_value=request.requested_value,
        reason=request.reason,
        status=request.status.value,
        received_at=request.received_at,
        due_at=request.due_at,
        decision=decision,
        previous_value=request.previous_value,
    )
