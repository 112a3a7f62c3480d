"""Erase my data (Art. 17): the request, and the report of what was destroyed and kept.

Erasure is crypto-shredding: the customer's `contact` and `interactions` data keys are
destroyed, so that data is unreadable everywhere (backups included). `financial` records are
kept under legal hold until the legal retention period after the last account closed; the
consent ledger and audit log are kept with pseudonymous ids only (accountability).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from domain.customer.access import Access
from domain.dsr.own_request import read_own_request
from domain.dsr.requests import (
    DataSubjectRequest,
    DsrUnitOfWork,
    RequestType,
)
from domain.retention import RetentionClass

ERASURE_JOB = "erasure"
DESTROYED: tuple[tuple[RetentionClass, str], ...] = (
    (RetentionClass.CONTACT, "profile, profile history, sign-in credentials"),
    (RetentionClass.INTERACTIONS, "interactions and the texts of correction requests"),
)
FINANCIAL_BASIS = (
    "legal obligation (Art. 6(1)(c) and 17(3)(b) GDPR): accounting and "
    "anti-money-laundering record keeping; restricted, readable only to "
    "establish, exercise or defend legal claims"
)
EVIDENCE_BASIS = (
    "legal obligation to demonstrate compliance (Art. 5(2) GDPR); pseudonymous "
    "ids only, no personal values"
)


def add_years(moment: datetime, years: int) -> datetime:
    """`moment` plus whole years (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def erasure_report(
    *, erased_at: datetime, financial_years: int, account_closures: Sequence[datetime | None]
) -> dict[str, Any]:
    """What was destroyed, what is kept, on which legal basis and until when.

    Financial records are kept until `financial_years` after the last account closed;
    while an account is still open the date is not known yet (`until` is null)."""
    until: str | None = None
    if account_closures and all(c is not None for c in account_closures):
        last = max(c for c in account_closures if c is not None)
        until = add_years(last, financial_years).date().isoformat()
    return {
        "erased_at": erased_at.isoformat().replace("+00:00", "Z"),
        "destroyed": [{"retention_class": c.value, "covers": covers} for c, covers in DESTROYED],
        "kept": [
            {
                "retention_class": RetentionClass.FINANCIAL.value,
                "covers": "accounts and transactions",
                "legal_basis": FINANCIAL_BASIS,
                "until": until,
                "until_rule": f"{financial_years} years after the last account closed",
            },
            {
                "retention_class": RetentionClass.EVIDENCE.value,
                "covers": "consent ledger, audit log, data-subject requests",
                "legal_basis": EVIDENCE_BASIS,
                "until": None,
                "until_rule": "as long as the organisation must demonstrate compliance",
            },
        ],
    }


async def read_erasure(
    uow_factory: Callable[[], DsrUnitOfWork], access: Access, erasure_id: str
) -> DataSubjectRequest:
    """The customer's erasure request; NotFound otherwise. The customer can follow it only
    until it runs (erasure revokes every grant and destroys the sign-in credentials), so
    its report is for the officer, who reads it through the queue."""
    return await read_own_request(
        uow_factory, access, erasure_id, kind=RequestType.ERASURE, action="erasure.read"
    )
