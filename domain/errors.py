"""Domain errors: plain exceptions that the delivery layer maps to HTTP problems."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""


class NotFound(DomainError):
    """The resource does not exist, or belongs to someone else (the two are indistinguishable)."""


class Conflict(DomainError):
    """The request contradicts the current state (a duplicate, a stale notice version...)."""


class InvalidValue(DomainError, ValueError):
    """One value failed validation. `field` names it in the customer's words."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ValidationFailed(DomainError):
    """Several values failed validation; `problems` maps each field to what is wrong with it."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


class IntegrityError(DomainError):
    """Stored data failed an integrity check (a ciphertext that does not authenticate).

    Raised loudly instead of returning data that might be wrong.
    """
