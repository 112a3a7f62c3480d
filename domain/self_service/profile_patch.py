"""Applying a JSON merge patch (RFC 7396) of the editable fields to a profile.

Only the editable fields may appear; anything else (unknown or read-only, such as `version`
or `customer_id`) is refused by name, so a client can never assign fields it does not own.
Every problem is collected, so the customer sees all of them at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from domain.customer.profile import Profile
from domain.errors import InvalidValue, ValidationFailed
from domain.values import (
    Email,
    PhoneNumber,
    PostalAddress,
    language_tag,
    past_date,
    person_name,
    refuse_line_breaks_and_controls,
)

EDITABLE_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "email",
    "phone",
    "address",
    "date_of_birth",
    "language",
)
ADDRESS_FIELDS = ("line1", "line2", "city", "region", "postal_code", "country")
_REQUIRED = frozenset({"given_name", "family_name", "email", "language"})
_OLDEST_BIRTH = date(1900, 1, 1)


def field_text(profile: Profile, name: str) -> str | None:
    """The field as the history stores it: text, the address as compact JSON."""
    value: Any = getattr(profile, name)
    if value is None:
        return None
    if isinstance(value, PostalAddress):
        return json.dumps(
            {key: getattr(value, key) for key in ADDRESS_FIELDS},
            separators=(",", ":"),
            sort_keys=True,
        )
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def apply_patch(profile: Profile, patch: Mapping[str, Any], *, today: date) -> Profile:
    """The profile with `patch` merged in. ValidationFailed names every refused field."""
    problems: dict[str, str] = {}
    for name in patch:
        if name not in EDITABLE_FIELDS:
            problems[name] = "is not a field you can change"
    changes: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        if name not in patch:
            continue
        try:
            changes[name] = _parse(profile, name, patch[name], today)
        except InvalidValue as error:
            problems[error.field] = error.message
    if problems:
        raise ValidationFailed(problems)
    return replace(profile, **changes)


def _parse(profile: Profile, name: str, value: Any, today: date) -> Any:
    if value is None:
        if name in _REQUIRED:
            raise InvalidValue(name, "cannot be removed")
        return None
    if name == "address":
        return _address(profile.address, value)
    if not isinstance(value, str):
        raise InvalidValue(name, "must be a string")
    parsers: dict[str, Callable[[str], Any]] = {
        "given_name": lambda text: person_name(text, name),
        "family_name": lambda text: person_name(text, name),
        "preferred_name": lambda text: person_name(text, name),
        "email": lambda text: Email(text.strip()),
        "phone": PhoneNumber,
        "language": language_tag,
    }
    parser = parsers.get(name)
    if parser is not None:
        return parser(value)
    return _birth_date(value, today)


def _birth_date(value: str, today: date) -> date:
    name = "date_of_birth"
    try:
        born = date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(name, "must be a date such as 1990-04-30") from None
    if born < _OLDEST_BIRTH:
        raise InvalidValue(name, "must be after 1900-01-01")
    return past_date(born, name, today=today)


def _address(current: PostalAddress | None, value: Any) -> PostalAddress:
    if not isinstance(value, Mapping):
        raise InvalidValue("address", "must be an object")
    unknown = sorted(set(value) - set(ADDRESS_FIELDS))
    if unknown:
        raise InvalidValue(f"address.{unknown[0]}", "is not a field of an address")
    merged: dict[str, Any] = (
        {key: getattr(current, key) for key in ADDRESS_FIELDS}
        if current is not None
        else dict.fromkeys(ADDRESS_FIELDS)
    )
    merged.update(value)
    for key in ADDRESS_FIELDS:
        if merged[key] is not None and not isinstance(merged[key], str):
            raise InvalidValue(f"address.{key}", "must be a string")
    # What the patch writes is one line of text each; what it keeps is as it was stored.
    for key, text in value.items():
        if isinstance(text, str):
            refuse_line_breaks_and_controls(text, f"address.{key}")
    for key in ("line1", "city", "postal_code", "country"):
        if not merged[key]:
            raise InvalidValue(f"address.{key}", "is required")
    return PostalAddress(**merged)
