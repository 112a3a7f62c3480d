"""Preparing demo customers off the main process: generating them, sealing their transactions.

Generating a customer's two thousand transactions and sealing their four encrypted fields
is pure Python (about 15 microseconds a row), as much CPU again as storing them, and the GIL
keeps threads from sharing it. So worker processes prepare the next batches while the main
process stores the current one.

Keys: the workers are forked, and so inherit the master key in memory. It is handed over as
an initializer argument, which the fork start method never pickles (and `MasterKey` refuses
to be pickled, so no other start method could leak it). A worker creates each customer's
financial data key (and interactions key), seals with it, and returns only the keys
*wrapped* under the master key, with the ciphertexts: nothing secret crosses the pipe.
Where fork is unavailable, or with `workers=0`, the same function runs in this process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import deque
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.customer.accounts import Account
from domain.customer.interactions import Interaction
from domain.customer.profile import Customer, Profile
from domain.retention import RetentionClass
from persistence.crypto import FieldCipher, KeyWrapper, MasterKey, new_data_key
from persistence.demo.generate import demo_transaction_ids, generate_customer
from persistence.demo.store import TransactionBulkWriter

_FINANCIAL = RetentionClass.FINANCIAL
_INTERACTIONS = RetentionClass.INTERACTIONS


@dataclass(frozen=True, slots=True)
class PreparedCustomer:
    """A generated customer, ready to store: transactions already sealed under a new
    financial data key, which travels only wrapped."""

    index: int
    customer: Customer
    profile: Profile
    accounts: list[Account]
    interactions: list[Interaction]
    wrapped_keys: dict[RetentionClass, bytes]
    """New financial and interactions data keys of the customer, wrapped."""
    transaction_rows: list[tuple[Any, ...]]
    """`transactions` rows in `persistence.demo.store.COLUMNS` order."""


class _Preparer:
    """What one process needs to prepare customers (built once per process)."""

    def __init__(self, master_key: MasterKey, dialect_name: str) -> None:
        self.wrapper = KeyWrapper(master_key)
        self.writer = TransactionBulkWriter(dialect_name)

    def prepare(self, seed: int, index: int, day: date) -> PreparedCustomer:
        person = generate_customer(seed, index, day)
        key = new_data_key()
        cipher = FieldCipher(key)
        customer_id = person.customer.id
        ids = demo_transaction_ids(seed, index)
        rows = [
            row
            for account, movements in person.ledgers
            for row in self.writer.rows(cipher, account, movements, ids)
        ]
        return PreparedCustomer(
            index=index,
            customer=person.customer,
            profile=person.profile,
            accounts=person.accounts,
            interactions=person.interactions,
            # The interactions key is made here too only to spare the key ring its four
            # statements per customer; the repository seals the interactions with it.
            wrapped_keys={
                _FINANCIAL: self.wrapper.wrap(key, customer_id, _FINANCIAL),
                _INTERACTIONS: self.wrapper.wrap(new_data_key(), customer_id, _INTERACTIONS),
            },
            transaction_rows=rows,
        )


_worker: _Preparer | None = None
"""The preparer of a worker process, installed by `_install` when the process starts."""


def _install(master_key: MasterKey, dialect_name: str) -> None:
    global _worker  # noqa: PLW0603  (per-process state of a pool worker)
    _worker = _Preparer(master_key, dialect_name)


def _prepare_batch(seed: int, indexes: Sequence[int], day: date) -> list[PreparedCustomer]:
    """In a worker process: prepare customers `indexes`."""
    if _worker is None:
        raise RuntimeError("the demo worker was not initialised")
    return [_worker.prepare(seed, index, day) for index in indexes]


class DemoPreparation:
    """Prepares batches of customers in order, up to `workers` batches ahead of the caller.

    Use as `async with DemoPreparation(...) as preparation:` and iterate
    `preparation.batches(...)`; leaving the block stops the workers.
    """

    def __init__(
        self, master_key: MasterKey, dialect_name: str, *, seed: int, day: date, workers: int
    ) -> None:
        self._seed = seed
        self._day = day
        self._workers = workers if "fork" in multiprocessing.get_all_start_methods() else 0
        self._local = _Preparer(master_key, dialect_name) if self._workers == 0 else None
        self._pool: Executor | None = None
        if self._workers:
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_install,
                initargs=(master_key, dialect_name),
            )

    async def __aenter__(self) -> DemoPreparation:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    async def batches(
        self, batches: Sequence[Sequence[int]]
    ) -> AsyncIterator[list[PreparedCustomer]]:
        """The prepared customers of each batch, in order."""
        if self._local is not None:
            for batch in batches:
                yield [self._local.prepare(self._seed, index, self._day) for index in batch]
            return
        loop = asyncio.get_running_loop()
        waiting = iter(batches)
        in_flight: deque[asyncio.Future[list[PreparedCustomer]]] = deque()

        def submit() -> None:
            batch = next(waiting, None)
            if batch is not None:
                in_flight.append(
                    loop.run_in_executor(self._pool, _prepare_batch, self._seed, batch, self._day)
                )

        for _ in range(self._workers + 1):
            submit()
        while in_flight:
            prepared = await in_flight.popleft()
            submit()
            yield prepared
