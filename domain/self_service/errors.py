"""Errors of the conditional profile update (HTTP 428 / 412)."""

from __future__ import annotations

from domain.errors import DomainError


class PreconditionRequired(DomainError):
    """The change did not say which version it was based on (no If-Match)."""


class PreconditionFailed(DomainError):
    """The change was based on a version that is no longer current."""
