"""Signing in with email and password, throttled so that guessing slows down but nobody
can lock the owner out (the policy: domain.oauth.throttle).

The outcome never says whether an email exists: an unknown email is checked against a
dummy hash (same cost as a real one), counts as a failure against its own throttle key, and
answers exactly like a wrong password.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

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
from domain.oauth.ports import IdentityUnitOfWork, PasswordHasher
from domain.oauth.throttle import ACCOUNT, ADDRESS, PAIR, ThrottlePolicy
from domain.values import Email

__all__ = ["Pause", "SignInAttempt", "ThrottlePolicy", "sign_in"]

Pause = Callable[[float], Awaitable[None]]


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
    pause: Pause = asyncio.sleep,
) -> Principal:
    """The principal whose email and password these are.

    Raises LoginThrottled (nothing checked, nothing counted) while this address must wait
    for this account, or has used its budget across accounts; InvalidCredentials for any
    mismatch; HashingBusy when hashing is saturated. A much-attacked account only makes the
    check slower (`pause`, capped): the right password always gets in. Success clears the
    pair's failures and rehashes a hash with outdated parameters. Every outcome is audited.
    """
    now = clock.now()
    email = _normalised(attempt.email)
    keys = ((PAIR, f"{email}\x00{attempt.address}"), (ADDRESS, attempt.address), (ACCOUNT, email))
    # Read first, hash with no transaction open (hashing takes tens of milliseconds), then
    # write the outcome in a second, short transaction.
    async with uow_factory() as uow:
        states = {kind: await uow.throttle.get(kind, ident) for kind, ident in keys}
        account = await _find(uow, attempt.email)
    wait = max(policy.retry_after(kind, states[kind], now) for kind, _ in keys)
    if wait:
        async with uow_factory() as uow:
            await _audit(uow, attempt, None, Outcome.DENIED, "auth.login.throttled")
            await uow.commit()
        raise LoginThrottled(wait)
    slow_down = policy.account_pause(states[ACCOUNT], now)
    if slow_down:
        await pause(slow_down)
    stored = account.password_hash if account else hasher.dummy_hash
    matches = await hasher.verify(stored, attempt.password)
    if account is None or not matches or not account.active:
        async with uow_factory() as uow:
            for kind, ident in keys:
                await uow.throttle.count_failure(kind, ident, now, policy.window(kind))
            principal = account.principal if account else None
            await _audit(uow, attempt, principal, Outcome.DENIED, "auth.login")
            await uow.commit()
        raise InvalidCredentials("the email or password is not right")
    new_hash = await hasher.hash(attempt.password) if hasher.needs_rehash(stored) else None
    async with uow_factory() as uow:
        if new_hash is not None:
            await uow.logins.set_password_hash(account.principal, new_hash)
        await uow.throttle.clear(PAIR, keys[0][1])
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
