"""What an export archive holds: the categories, how each record reads
as JSON and CSV, the README, and the spreadsheet-safety rule for CSV cells.

Each record has the same members as the API answer for it, so what the customer downloads
is what the API shows them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from domain.audit.events import AuditEvent
from domain.campaigns.preferences import PREFERENCE_COLUMNS
from domain.consent.ledger import ConsentEvent
from domain.consent.purposes import PurposeNotice
from domain.customer.accounts import Account, Transaction
from domain.customer.corrections import CorrectionRequest
from domain.customer.interactions import Interaction
from domain.customer.profile import Profile, ProfileChange

SCHEMA_VERSION = "1"
COLUMNS: dict[str, tuple[str, ...]] = {
    "profile": (
        "version",
        "given_name",
        "family_name",
        "email",
        "language",
        "preferred_name",
        "phone",
        "address.line1",
        "address.line2",
        "address.city",
        "address.region",
        "address.postal_code",
        "address.country",
        "date_of_birth",
    ),
    "profile_history": ("version", "field", "old_value", "new_value", "actor", "client", "at"),
    "accounts": (
        "id",
        "type",
        "name",
        "masked_number",
        "currency",
        "status",
        "opened_at",
        "closed_at",
        "balance",
    ),
    "transactions": (
        "id",
        "account_id",
        "booked_at",
        "value_date",
        "amount",
        "currency",
        "direction",
        "status",
        "description",
        "category",
        "merchant",
        "reference",
    ),
    "interactions": (
        "id",
        "occurred_at",
        "channel",
        "direction",
        "kind",
        "summary",
        "outcome",
        "satisfaction",
        "campaign",
    ),
    "consents": (
        "id",
        "purpose",
        "granted",
        "notice_version",
        "recorded_at",
        "actor",
        "collection_method",
        "receipt",
    ),
    "contact_preferences": PREFERENCE_COLUMNS,
    "corrections": (
        "id",
        "target_type",
        "target_id",
        "field",
        "current_value",
        "requested_value",
        "reason",
        "status",
        "received_at",
        "due_at",
        "decided_at",
        "decision_reason",
        "previous_value",
    ),
    "access_log": (
        "at",
        "actor_type",
        "actor_role",
        "actor_id",
        "action",
        "resource_type",
        "purpose",
        "outcome",
    ),
    "processing": (
        "purpose",
        "notice_version",
        "legal_basis",
        "description",
        "data_categories",
        "recipients",
        "retention",
        "withdrawable",
    ),
}
"""Each category, in the order it appears in the archive, with its CSV columns."""

CATEGORIES: tuple[str, ...] = tuple(COLUMNS)
"""The categories, in the order they appear in the archive."""

RETAINED_CATEGORIES: tuple[str, ...] = (
    "accounts",
    "transactions",
    "consents",
    "access_log",
    "processing",
)
"""What a legal-claim export of a restricted or erased customer holds: the financial records
kept under legal hold and the evidence, nothing of the contact or interactions classes."""

SOURCES: tuple[str, ...] = (
    "you, when you opened an account and when you edit your profile",
    "our own records of your accounts, transactions and contacts with us",
    "your consent decisions",
)
"""Art. 15(1)(g): where the data came from."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell that spreadsheet software shows as text, never runs.

    Cells starting with = + - @ (or tab / carriage return) are prefixed with an apostrophe
    (OWASP CSV injection); None is the empty cell; everything else is its JSON text form.
    """
    kind = type(value)  # exact types first: this runs for every cell of the archive
    text: str
    if kind is str:
        text = value
    elif value is None:
        return ""
    elif kind is bool:
        text = "true" if value else "false"
    elif isinstance(value, list | tuple):
        text = "; ".join(str(item) for item in value)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested record as one CSV row: nested objects become `outer.inner` columns."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


_FLAT = frozenset({str, type(None), bool, int, float, list, tuple})
"""Value types that are never nested objects."""


def csv_row(record: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The CSV cells of `record` under `columns` (nested objects flattened)."""
    flat = record if set(map(type, record.values())) <= _FLAT else flatten(record)
    # Plain text that needs no apostrophe is the common cell: kept without a call.
    return [
        value if type(value) is str and not value.startswith(_FORMULA_START) else csv_cell(value)
        for value in map(flat.get, columns)
    ]


def utc_text(moment: datetime | None) -> str | None:
    """RFC 3339 UTC, as the API writes times."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def profile_record(profile: Profile) -> dict[str, Any]:
    """The profile, as GET /v1/me/profile answers it."""
    address = profile.address
    return {
        "version": profile.version,
        "given_name": profile.given_name,
        "family_name": profile.family_name,
        "email": profile.email.value,
        "language": profile.language,
        "preferred_name": profile.preferred_name,
        "phone": None if profile.phone is None else profile.phone.value,
        "address": None
        if address is None
        else {
            "line1": address.line1,
            "city": address.city,
            "postal_code": address.postal_code,
            "country": address.country,
            "line2": address.line2,
            "region": address.region,
        },
        "date_of_birth": _day(profile.date_of_birth),
    }


def change_record(change: ProfileChange) -> dict[str, Any]:
    """A profile change, as GET /v1/me/profile/history answers it."""
    return {
        "version": change.version,
        "field": change.field,
        "old_value": change.old_value,
        "new_value": change.new_value,
        "actor": change.actor.value,
        "client": change.client_id,
        "at": utc_text(change.at),
    }


def account_record(account: Account) -> dict[str, Any]:
    """An account, as GET /v1/me/accounts answers it (number masked)."""
    return {
        "id": str(account.id),
        "type": account.type.value,
        "name": account.name,
        "masked_number": account.masked_number,
        "currency": account.currency,
        "status": account.status.value,
        "opened_at": utc_text(account.opened_at),
        "closed_at": utc_text(account.closed_at),
        "balance": str(account.balance),
    }


def transaction_record(transaction: Transaction) -> dict[str, Any]:
    """A transaction, as GET /v1/me/transactions/{id} answers it."""
    return {
        "id": str(transaction.id),
        "account_id": str(transaction.account_id),
        "booked_at": utc_text(transaction.booked_at),
        "value_date": _day(transaction.value_date),
        "amount": str(transaction.amount),
        "currency": transaction.currency,
        "direction": transaction.direction.value,
        "status": transaction.status.value,
        "description": transaction.description,
        "category": transaction.category,
        "merchant": transaction.merchant,
        "reference": transaction.reference,
    }


def interaction_record(interaction: Interaction) -> dict[str, Any]:
    """An interaction, as GET /v1/me/interactions/{id} answers it."""
    return {
        "id": str(interaction.id),
        "occurred_at": utc_text(interaction.occurred_at),
        "channel": interaction.channel.value,
        "direction": interaction.direction.value,
        "kind": interaction.kind.value,
        "summary": interaction.summary,
        "outcome": interaction.outcome,
        "satisfaction": interaction.satisfaction,
        "campaign": interaction.campaign,
    }


def consent_record(event: ConsentEvent) -> dict[str, Any]:
    """A consent decision with its signed receipt (a compact JWS)."""
    return {
        "id": str(event.id),
        "purpose": event.purpose,
        "granted": event.granted,
        "notice_version": event.notice_version,
        "recorded_at": utc_text(event.recorded_at),
        "actor": event.actor.type.value,
        "collection_method": event.collection_method,
        "receipt": event.receipt,
    }


def correction_record(request: CorrectionRequest) -> dict[str, Any]:
    """A correction request and its outcome."""
    return {
        "id": str(request.id),
        "target_type": request.target_type.value,
        "target_id": str(request.target_id),
        "field": request.field,
        "current_value": request.current_value,
        "requested_value": request.requested_value,
        "reason": request.reason,
        "status": request.status.value,
        "received_at": utc_text(request.received_at),
        "due_at": utc_text(request.due_at),
        "decided_at": utc_text(request.decided_at),
        "decision_reason": request.decision_reason,
        "previous_value": request.previous_value,
    }


def access_record(event: AuditEvent) -> dict[str, Any]:
    """Who accessed the customer's data: role and staff id, never a colleague's details."""
    record = event.record
    return {
        "at": utc_text(event.at),
        "actor_type": record.actor.type.value,
        "actor_role": record.actor.role,
        "actor_id": record.actor.id if record.actor.type.value != "customer" else None,
        "action": record.action,
        "resource_type": record.resource_type,
        "purpose": record.purpose,
        "outcome": record.outcome.value,
    }


def processing_record(notice: PurposeNotice) -> dict[str, Any]:
    """One purpose's Art. 15 facts."""
    return {
        "purpose": notice.purpose,
        "notice_version": notice.notice_version,
        "legal_basis": notice.legal_basis,
        "description": notice.description,
        "data_categories": list(notice.data_categories),
        "recipients": list(notice.recipients),
        "retention": notice.retention,
        "withdrawable": notice.withdrawable,
    }


README = """Your Custodian data export
===========================

This archive holds a copy of the personal data Custodian keeps about you (GDPR Art. 15
and 20). Every category comes twice: as JSON (for programs) and as CSV (for spreadsheets;
UTF-8, first row is the header; cells that start with = + - @ get a leading apostrophe so
that no spreadsheet runs them as formulas).

profile.*          your profile as it is now
profile_history.*  every change made to your profile: old and new value, who, which app, when
accounts.*         your accounts (numbers masked to the last four digits)
transactions.*     every transaction on your accounts
interactions.*     your contacts with us: calls, emails, chats, visits
consents.*         every consent decision, each with its signed receipt
contact_preferences.*  how you want marketing: channels, quiet hours, how often at most
corrections.*      the corrections you asked for and their outcome
access_log.*       who accessed your data, when, what and why
processing.*       why we process your data: purposes, legal bases, recipients, retention
manifest.json      the list of files with their SHA-256 digests
signature.json     an Ed25519 signature of manifest.json; the public key is published at
                   /.well-known/jwks.json under the key id given in signature.json
"""
