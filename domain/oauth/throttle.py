"""How failed sign-ins slow down guessing without letting anyone lock the owner out.

Three counters, each keyed by a keyed hash (never the email or address itself):

- the pair (account, address): the first `pair_free` failures cost nothing; after that each
  failure makes that address wait before it may try that account again, doubling from
  `pair_base_delay` up to `pair_max_delay`. Only the address that failed waits: the owner,
  signing in from anywhere else, is never refused because of someone else's guesses.
- the address, across accounts: more than `per_address` failures in a window and the address
  is refused for the rest of it (one address guessing many accounts is credential stuffing).
- the account, across addresses: past `account_free` failures every check of that account's
  password is slowed by a pause growing by `account_step` per failure, capped at
  `account_max_pause`. It slows distributed guessing and never refuses the right password.

A refused attempt is not checked and not counted; a successful sign-in clears its pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.oauth.ports import ThrottleState

PAIR = "pair"
ACCOUNT = "account"
ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """The sign-in throttle's parameters (defaults follow OWASP's authentication and
    credential-stuffing guidance: progressive delays, no hard account lock)."""

    pair_free: int = 3
    pair_base_delay: timedelta = timedelta(seconds=2)
    pair_max_delay: timedelta = timedelta(minutes=15)
    pair_window: timedelta = timedelta(days=1)
    per_address: int = 50
    address_window: timedelta = timedelta(minutes=15)
    account_free: int = 10
    account_step: timedelta = timedelta(milliseconds=100)
    account_max_pause: timedelta = timedelta(seconds=2)
    account_window: timedelta = timedelta(hours=1)

    def window(self, kind: str) -> timedelta:
        """How long a key's failures are remembered after its window opened."""
        return {PAIR: self.pair_window, ADDRESS: self.address_window}.get(kind, self.account_window)

    def pair_delay(self, failures: int) -> timedelta:
        """How long an address waits after its `failures`-th failure on one account."""
        if failures < self.pair_free:
            return timedelta(0)
        doublings = min(failures - self.pair_free, 30)  # 2**30 already passes any ceiling
        return min(self.pair_max_delay, self.pair_base_delay * (1 << doublings))

    def retry_after(self, kind: str, state: ThrottleState | None, now: datetime) -> int:
        """Seconds before the key may try again (0: now). Accounts are never refused."""
        if state is None or now >= state.window_started + self.window(kind):
            return 0
        if kind == PAIR:
            ready = (state.last_failure or state.window_started) + self.pair_delay(state.failures)
        elif kind == ADDRESS and state.failures >= self.per_address:
            ready = state.window_started + self.address_window
        else:
            return 0
        return max(0, math.ceil((ready - now).total_seconds()))

    def account_pause(self, state: ThrottleState | None, now: datetime) -> float:
        """Seconds to pause before checking the account's password (0: none)."""
        if state is None or now >= state.window_started + self.account_window:
            return 0.0
        excess = state.failures - self.account_free
        if excess < 0:
            return 0.0
        return min(self.account_max_pause, self.account_step * (excess + 1)).total_seconds()
