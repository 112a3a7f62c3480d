"""Art. 15 facts: why and how the customer's data is processed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from domain.analytics.membership import Membership
from domain.consent.purposes import PurposeNotice
from domain.customer.access import Access, record_access
from domain.dsr.archive import SOURCES
from domain.dsr.requests import DsrUnitOfWork


@dataclass(frozen=True, slots=True)
class ProcessingFacts:
    """Purposes (with legal basis, categories, recipients, retention) and the sources."""

    purposes: list[PurposeNotice]
    sources: tuple[str, ...]
    # Whether the customer is in the analytics projection now, and since when.
    analytics: Membership = field(default_factory=lambda: Membership(member=False, since=None))


async def read_processing(
    uow_factory: Callable[[], DsrUnitOfWork], access: Access
) -> ProcessingFacts:
    """The purpose catalogue as it applies to the customer, after a durable audit event."""
    async with uow_factory() as uow:
        notices = await uow.consents.notices()
        analytics = await uow.projection.membership(access.subject_id)
        await record_access(uow, access, "processing.read", "processing")
        await uow.commit()
    return ProcessingFacts(list(notices), SOURCES, analytics)
