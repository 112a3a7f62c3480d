"""Changes that need a recent sign-in (RFC 9470 step-up): erasing one's data, and changing
the email one signs in with. A token is enough to read and to make ordinary changes; these
two also need the person to have proved who they are a few minutes ago (the token's
`auth_time`, kept across refreshes), so an app holding an old token cannot make them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.errors import DomainError

_CLOCK_SKEW = timedelta(seconds=60)


class RecentSignInRequired(DomainError):
    """The token's sign-in is older than the policy allows (or unknown): sign in again,
    e.g. with `prompt=login` or `max_age`, then retry."""

    def __init__(self, max_age: int, what: str) -> None:
        super().__init__(f"{what} needs a sign-in within the last {max_age} seconds")
        self.max_age = max_age


def require_recent_sign_in(
    *, now: datetime, auth_time: datetime | None, within: timedelta, what: str
) -> None:
    """RecentSignInRequired unless the person signed in within `within` of `now` (a sign-in
    a little in the future is a clock difference, up to a minute). `what` names the change
    in the problem's detail."""
    recent = auth_time is not None and now - within <= auth_time <= now + _CLOCK_SKEW
    if not recent:
        raise RecentSignInRequired(int(within.total_seconds()), what)
