"""The SQL repositories implementing the domain's storage ports, in one place to import from.

Each lives in its own module; all of them seal personal fields with the customer's data key
for the column's retention class (persistence.keystore) and never commit.
"""

from __future__ import annotations

from persistence.customer.accounts import SqlAccountRepository, SqlTransactionRepository
from persistence.customer.interactions import SqlInteractionRepository
from persistence.customer.profiles import SqlCustomerRepository

__all__ = [
    "SqlAccountRepository",
    "SqlCustomerRepository",
    "SqlInteractionRepository",
    "SqlTransactionRepository",
]
