"""Argon2id password hashing in a bounded thread pool, off the event loop.

A login flood must not starve other endpoints: hashing runs on at most `workers` threads,
at most `max_waiting` more requests may queue for a slot, and anything beyond is refused at
once with HashingBusy (the login page then answers 429 with Retry-After) instead of
queueing without bound. Parameters default to the OWASP argon2id profile
(m = 19 MiB, t = 2, p = 1); hashes made with other parameters are rehashed on login.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher as Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.identity import HashingBusy

_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """argon2id cost parameters; memory in KiB."""

    time_cost: int = 2
    memory_cost: int = 19 * 1024
    parallelism: int = 1


OWASP = Argon2Parameters()


class Argon2PasswordHasher:
    """Implements domain.oauth.ports.PasswordHasher."""

    def __init__(
        self,
        parameters: Argon2Parameters = OWASP,
        *,
        workers: int | None = None,
        max_waiting: int = 4,
    ) -> None:
        # At most half the cores hash by default: the event loop keeps the rest.
        workers = workers or max(1, (os.cpu_count() or 2) // 2)
        self.parameters = parameters
        self._argon2 = Argon2(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_cost,
            parallelism=parameters.parallelism,
            type=Type.ID,
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password-hashing")
        self._capacity = workers + max_waiting
        self._in_flight = 0
        # Hashed once at start-up, so an unknown email costs one verification like a known one.
        self._dummy = self._argon2.hash(secrets.token_urlsafe(32))

    @property
    def dummy_hash(self) -> str:
        """A hash of a random password nobody knows."""
        return self._dummy

    async def hash(self, password: str) -> str:
        """A new argon2id hash of `password`. Raises HashingBusy when saturated."""
        return await self._run(self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches `password_hash` (argon2 compares in constant time)."""
        return await self._run(self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than ours."""
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def hash_blocking(self, password: str) -> str:
        """Hash on the calling thread: for the command line and demo set-up only."""
        return self._argon2.hash(password)

    def close(self) -> None:
        """Stop the worker threads (at application shutdown)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def _run(self, func: Callable[[str, str], _R] | Callable[[str], _R], *args: str) -> _R:
        # The counter is only touched on the event loop thread, so no lock is needed.
        if self._in_flight >= self._capacity:
            raise HashingBusy("password hashing is saturated")
        self._in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, func, *args)  # type: ignore[arg-type]
        finally:
            self._in_flight -= 1
