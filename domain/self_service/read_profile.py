"""Read my profile, and the history of changes to it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from domain.customer.access import Access, record_read
from domain.customer.profile import Profile, ProfileChange
from domain.errors import NotFound
from domain.pagination import Keyset, Page, Position, read_page
from domain.ports import UnitOfWork

HISTORY_FIELDS = ("field", "old_value", "new_value", "actor", "at")


async def read_profile(uow_factory: Callable[[], UnitOfWork], access: Access) -> Profile:
    """The customer's profile (version = ETag), after a durable `profile.read` event.

    NotFound when there is no readable profile (erased)."""
    async with uow_factory().reading() as uow:
        profile = await uow.customers.get_profile(access.subject_id)
        if profile is None:
            raise NotFound("no profile")
    await record_read(
        uow, access, "profile.read", "profile", access.subject_id, fields=PROFILE_FIELDS
    )
    return profile


PROFILE_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "email",
    "phone",
    "address",
    "date_of_birth",
    "language",
)


async def read_profile_history(
    uow_factory: Callable[[], UnitOfWork], access: Access, *, limit: int, cursor: str | None
) -> Page[ProfileChange]:
    """The profile's changes, newest first, after a durable `profile.history.read` event.

    InvalidCursor for a cursor not issued for this customer's history."""
    async with uow_factory().reading() as uow:
        keyset = Keyset.by_position(
            uow.cursors, f"profile-history:{access.subject_id}", _history_key
        )
        page = await read_page(
            keyset,
            cursor,
            limit,
            lambda after, n: uow.customers.list_profile_changes(
                access.subject_id, limit=n, before=_version_key(after)
            ),
        )
    await record_read(
        uow, access, "profile.history.read", "profile", access.subject_id, fields=HISTORY_FIELDS
    )
    return page


# The history pages on (version, id): the version travels in the position's time as that
# many seconds after the epoch.
def _version_key(position: Position | None) -> tuple[int, UUID] | None:
    return None if position is None else (int(position.at.timestamp()), position.id)


def _history_key(change: ProfileChange) -> Position:
    return Position(datetime.fromtimestamp(change.version, UTC), change.id)
