"""Read my profile, and the history of changes to it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from domain.customer.access import Access, paginate, record_read
from domain.customer.profile import Profile, ProfileChange
from domain.errors import NotFound
from domain.pagination import Page, Position
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
        list_name = f"profile-history:{access.subject_id}"
        before = None
        if cursor is not None:
            position = uow.cursors.decode(list_name, cursor)
            # The history pages on (version, id): the version travels in the position's
            # time as that many seconds after the epoch.
            before = (int(position.at.timestamp()), position.id)
        rows = await uow.customers.list_profile_changes(
            access.subject_id, limit=limit + 1, before=before
        )
    await record_read(
        uow, access, "profile.history.read", "profile", access.subject_id, fields=HISTORY_FIELDS
    )
    return paginate(rows, limit, uow.cursors, list_name, _history_key)


def _history_key(change: ProfileChange) -> Position:
    return Position(datetime.fromtimestamp(change.version, UTC), change.id)
