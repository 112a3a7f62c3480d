"""Correct my profile: a conditional merge patch, each changed field kept in the history."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from domain.audit.events import Outcome
from domain.clock import Clock
from domain.customer.access import Access, record_access
from domain.customer.profile import ChangeActor, Profile, ProfileChange
from domain.errors import NotFound
from domain.ports import UnitOfWork
from domain.recent_sign_in import RecentSignInRequired, require_recent_sign_in
from domain.self_service.errors import PreconditionFailed, matches, require_a_version
from domain.self_service.profile_patch import EDITABLE_FIELDS, apply_patch, field_text


def etag_of(profile: Profile) -> str:
    """The profile's strong entity tag: its version, quoted."""
    return f'"{profile.version}"'


async def correct_profile(
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    access: Access,
    *,
    if_match: str | None,
    patch: Mapping[str, Any],
    auth_time: datetime | None,
    reauth: timedelta,
    actor: ChangeActor = ChangeActor.CUSTOMER,
) -> Profile:
    """Merge `patch` into the customer's profile if `if_match` names its current version.

    Returns the profile at its new version (unchanged when the patch changes nothing).
    The change, one history row per changed field and the `profile.update` audit event are
    committed together. ValidationFailed naming every refused field (checked first), then
    PreconditionRequired without `if_match`, PreconditionFailed when it is stale;
    RecentSignInRequired when the email changes and the person did not sign in within
    `reauth` (`auth_time`), with a `denied` event and nothing else written; Conflict when
    the new email is another customer's.
    """
    async with uow_factory() as uow:
        current = await uow.customers.get_profile(access.subject_id)
        if current is None:
            raise NotFound("no profile")
        now = clock.now()
        # The patch is judged first: an invalid one is a 422 whatever version it names, so
        # the client learns what to fix before fetching a fresh ETag.
        updated = apply_patch(current, patch, today=now.date())
        if not matches(require_a_version(if_match, "profile"), etag_of(current)):
            raise PreconditionFailed("the profile has changed since you read it")
        changed = [
            name
            for name in EDITABLE_FIELDS
            if field_text(current, name) != field_text(updated, name)
        ]
        if not changed:
            await record_access(uow, access, "profile.update", "profile", access.subject_id)
            await uow.commit()
            return current
        if "email" in changed:
            await _require_recent_sign_in(uow, access, now, auth_time, reauth)
        saved = await uow.customers.update_profile(
            updated, expected_version=current.version, at=now
        )
        await uow.customers.add_profile_changes(
            [
                ProfileChange(
                    id=uuid.uuid4(),
                    customer_id=access.subject_id,
                    version=saved.version,
                    field=name,
                    old_value=field_text(current, name),
                    new_value=field_text(updated, name),
                    actor=actor,
                    actor_id=access.actor.id,
                    at=now,
                    client_id=access.actor.client_id,
                )
                for name in changed
            ]
        )
        await record_access(
            uow, access, "profile.update", "profile", access.subject_id, fields=changed
        )
        await uow.commit()
    return saved


async def _require_recent_sign_in(
    uow: UnitOfWork,
    access: Access,
    now: datetime,
    auth_time: datetime | None,
    reauth: timedelta,
) -> None:
    # The email is what the customer signs in with, so changing it is a step-up like
    # erasure. It is checked before anything is written and before the address meets the
    # uniqueness check: that one's 409 would otherwise tell any app with `profile:write`
    # whether an address belongs to a customer.
    try:
        require_recent_sign_in(
            now=now, auth_time=auth_time, within=reauth, what="changing the email"
        )
    except RecentSignInRequired:
        await record_access(
            uow,
            access,
            "profile.update",
            "profile",
            access.subject_id,
            fields=["email"],
            outcome=Outcome.DENIED,
        )
        await uow.commit()
        raise
