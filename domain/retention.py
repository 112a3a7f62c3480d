"""Retention classes and data categories: what erasure means for each piece of data.

Every stored column declares both (see `persistence`), and each retention class of a
customer has its own data key, so erasing a class is destroying one key.
"""

from __future__ import annotations

from enum import StrEnum


class RetentionClass(StrEnum):
    """How long data is kept and what erasure does to it (docs/architecture.md, "Retention")."""

    CONTACT = "contact"
    """Profile, profile history, preferences: destroyed on erasure."""
    INTERACTIONS = "interactions"
    """Interactions and correction texts: destroyed on erasure."""
    FINANCIAL = "financial"
    """Accounts and transactions: kept under legal hold until the retention period ends."""
    EVIDENCE = "evidence"
    """Consent ledger, audit log, request records: kept, pseudonymous ids only."""
    ANALYTICS = "analytics"
    """The pseudonymous analytics projection: derived, coarse; deleted when the customer
    leaves it (withdrawal, restriction, objection, erasure), rebuilt from the sources."""
    OPERATIONAL = "operational"
    """Not personal data: keys, clients, job bookkeeping, schema state."""


ERASED_NOW: frozenset[RetentionClass] = frozenset(
    {RetentionClass.CONTACT, RetentionClass.INTERACTIONS}
)
"""The classes whose data keys an erasure destroys at once."""

ENCRYPTED_CLASSES: frozenset[RetentionClass] = frozenset(
    {RetentionClass.CONTACT, RetentionClass.INTERACTIONS, RetentionClass.FINANCIAL}
)
"""The classes that have a per-customer data key."""


class DataCategory(StrEnum):
    """What kind of information a stored value is, in the terms of a record of processing."""

    IDENTIFIER = "identifier"
    """A pseudonymous id (UUID, sequence number): links records, says nothing by itself."""
    CONTACT = "contact"
    """Name, email, phone, postal address."""
    DEMOGRAPHIC = "demographic"
    """Date of birth, language."""
    FINANCIAL = "financial"
    """Account details, balances, amounts, merchants, references."""
    BEHAVIOURAL = "behavioural"
    """Interactions with the organisation: what was said, how satisfied."""
    EVIDENCE = "evidence"
    """Records kept to prove what happened: audit events, consent, requests."""
    TECHNICAL = "technical"
    """No personal data: timestamps, statuses, versions, key material, hashes."""
