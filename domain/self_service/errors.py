"""The If-Match precondition of a conditional change (the profile, the contact preferences)
and its errors (HTTP 428 / 412)."""

from __future__ import annotations

from domain.errors import DomainError


class PreconditionRequired(DomainError):
    """The change did not say which version it was based on (no If-Match)."""


class PreconditionFailed(DomainError):
    """The change was based on a version that is no longer current."""


def names_a_version(if_match: str) -> bool:
    """Whether an If-Match value names entity tags rather than `*` (or nothing).

    `*` matches whatever version is current, so it would skip the lost-update check that
    If-Match exists for: it counts as no precondition at all."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return "*" not in tags and any(tags)


def require_a_version(if_match: str | None, what: str) -> str:
    """`if_match` if it names a version; PreconditionRequired when it is missing or `*`.

    `what` names the resource for the customer ("profile", "preferences")."""
    if if_match is None:
        raise PreconditionRequired(f"If-Match is required: send the ETag of the {what} you read")
    if not names_a_version(if_match):
        raise PreconditionRequired(
            f"If-Match: * is not accepted: send the ETag of the {what} you read"
        )
    return if_match


def matches(if_match: str, etag: str) -> bool:
    """Whether an If-Match value (a list of entity tags) names `etag`, the current version.
    If-Match compares strongly, so weak tags (W/"3") never match."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return etag in tags
