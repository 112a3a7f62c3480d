"""Signing in with email and password, throttled per account and per address.

The outcome never says whether an email exists: an unknown email is checked against a
dummy hash (same cost as a real one), counts as a failure against its own throttle key, and
answers exactly like a wrong password.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.audit.events import Actor, ActorType, AuditRecord, Outcome
from domain.clock import Clock
from domain.errors import InvalidValue
from domain.identity import (
    InvalidCredentials,
    LoginAccount,
    LoginThrottled,
    Principal,
    SubjectKind,
    principal_actor,
)
from domain.oauth.ports import IdentityUnitOfWork, PasswordHasher, ThrottleState
from domain.values import Email

ACCOUNT = "account"
ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures a key may collect in a window before sign-ins are refused."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)

    def limit(self, kind: str) -> int:
        """The failure budget of one key of `kind`."""
        return self.per_account if kind == ACCOUNT else self.per_address

    def retry_after(self, kind: str, state: ThrottleState | None, now: datetime) -> int:
        """Seconds until the key may try again; 0 when it may try now."""
        if state is None or state.failures < self.limit(kind):
            return 0
        remaining = (state.window_started + self.window - now).total_seconds()
        return max(0, math.ceil(remaining))

    def after_failure(self, state: ThrottleState | None, now: datetime) -> ThrottleState:
        """The state once one more failure is counted; a finished window starts afresh."""
        if state is None or now >= state.window_started + self.window:
            return ThrottleState(1, now)
        return ThrottleState(state.failures + 1, state.window_started)


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """What the person typed, and where from. The password is hidden from repr."""

    email: str
    password: str = field(repr=False)
    address: str
    client_id: str | None = None
    request_id: str | None = None


def _normalised(text: str) -> str:
    return text.strip().lower()


async def sign_in(
    attempt: SignInAttempt,
    *,
    uow_factory: Callable[[], IdentityUnitOfWork],
    hasher: PasswordHasher,
    clock: Clock,
    policy: ThrottlePolicy,
) -> Principal:
    """The principal whose email and password these are.

    Raises LoginThrottled (nothing checked, nothing counted) while either key is over its
    budget, InvalidCredentials for any mismatch, HashingBusy when hashing is saturated.
    Success clears the account's failures and rehashes a hash with outdated parameters.
    Every outcome is audited and committed.
    """
    now = clock.now()
    keys = ((ACCOUNT, _normalised(attempt.email)), (ADDRESS, attempt.address))
    # Read first, hash with no transaction open (hashing takes tens of milliseconds), then
    # write the outcome in a second, short transaction.
    async with uow_factory() as uow:
        states = [await uow.throttle.get(kind, ident) for kind, ident in keys]
        account = await _find(uow, attempt.email)
    wait = max(
        policy.retry_after(kind, state, now) for (kind, _), state in zip(keys, states, strict=True)
    )
    if wait:
        async with uow_factory() as uow:
            await _audit(uow, attempt, None, Outcome.DENIED, "auth.login.throttled")
            await uow.commit()
        raise LoginThrottled(wait)
    stored = account.password_hash if account else hasher.dummy_hash
    matches = await hasher.verify(stored, attempt.password)
    if account is None or not matches or not account.active:
        async with uow_factory() as uow:
            for (kind, ident), state in zip(keys, states, strict=True):
                await uow.throttle.save(kind, ident, policy.after_failure(state, now))
            principal = account.principal if account else None
            await _audit(uow, attempt, principal, Outcome.DENIED, "auth.login")
            await uow.commit()
        raise InvalidCredentials("the email or password is not right")
    new_hash = await hasher.hash(attempt.password) if hasher.needs_rehash(stored) else None
    async with uow_factory() as uow:
        if new_hash is not None:
            await uow.logins.set_password_hash(account.principal, new_hash)
        await uow.throttle.clear(ACCOUNT, keys[0][1])
        await _audit(uow, attempt, account.principal, Outcome.ALLOWED, "auth.login")
        await uow.commit()
    return account.principal


async def _find(uow: IdentityUnitOfWork, text: str) -> LoginAccount | None:
    try:
        email = Email(text.strip())
    except InvalidValue:
        return None
    return await uow.logins.find(email)


async def _audit(
    uow: IdentityUnitOfWork,
    attempt: SignInAttempt,
    principal: Principal | None,
    outcome: Outcome,
    action: str,
) -> None:
    # No email, password or address goes into the log: only the account's id when known.
    actor = (
        principal_actor(principal, attempt.client_id)
        if principal
        else Actor(ActorType.SYSTEM, "sign-in", attempt.client_id)
    )
    subject = principal.id if principal and principal.kind is SubjectKind.CUSTOMER else None
    await uow.audit.append(
        AuditRecord(
            actor=actor,
            action=action,
            resource_type="session",
            outcome=outcome,
            subject_id=subject,
            request_id=attempt.request_id,
        )
    )
