"""The erasure job (Art. 17): crypto-shred the customer's contact and interactions data.

One transaction destroys the two data keys (whatever the amount of data, so erasing a
customer with 100,000 transactions takes as long as one with ten), clears the blind index and
the plaintext link to a referrer, deletes the sign-in credentials, revokes every OAuth grant
(and so every refresh and access token), marks the customer erased and stores the report.
Consents are recorded as withdrawn first, each through the consent ledger (signed receipts).
Running it again changes nothing more: it is idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.audit.events import SYSTEM_ACTOR, AuditRecord
from domain.consent.change import ConsentUnitOfWork, change_consent
from domain.customer.profile import CustomerStatus
from domain.dsr.erasure import DESTROYED, add_years, erasure_report
from domain.dsr.requests import RequestStatus
from domain.retention import RetentionClass
from persistence.customer.tables import AccountRow, CustomerRow, ProfileRow
from persistence.dsr.sealed_archive import delete_customer_archives
from persistence.dsr.tables import DsrRequestRow
from persistence.jobs import LeasedJob, Progress
from persistence.keystore import DataKeyRow
from persistence.oauth.identity import CustomerCredentialRow
from persistence.oauth.tokens import GrantRow
from persistence.sealing import utc_out
from persistence.uow import SqlUnitOfWork


class ErasureJob:
    """The `erasure` job handler."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        uow_factory: Callable[[], SqlUnitOfWork],
        *,
        financial_years: int,
    ) -> None:
        self._sessions = sessions
        self._uow_factory = uow_factory
        self._financial_years = financial_years

    async def __call__(self, job: LeasedJob, progress: Progress) -> None:
        """Erase the customer of the job's request and record the report."""
        if job.request_id is None:
            raise LookupError("an erasure job needs a request")
        async with self._sessions() as session:
            row = await session.get(DsrRequestRow, job.request_id)
            if row is None:
                raise LookupError("the erasure request is gone")
            customer_id = row.customer_id
        await progress(5)
        await self._withdraw_consents(customer_id)
        await progress(30)
        await self._shred(job.request_id, customer_id)
        async with self._uow_factory() as uow:  # the archives go too, not just their key
            await delete_customer_archives(uow.session, uow.dsr.data_dir, customer_id)
            await uow.commit()

    async def _withdraw_consents(self, customer_id: UUID) -> None:
        async with self._uow_factory() as uow:
            notices = {n.purpose: n for n in await uow.consents.notices()}
            latest = await uow.consents.latest_all(customer_id)
        for purpose, event in latest.items():
            notice = notices.get(purpose)
            if event.granted and notice is not None and notice.consent_based:
                # The SQL unit implements the consent ports (mutable attributes, hence the cast).
                unit = cast("ConsentUnitOfWork", self._uow_factory())
                await change_consent(
                    unit,
                    customer_id,
                    purpose,
                    granted=False,
                    notice_version=notice.notice_version,
                    actor=SYSTEM_ACTOR,
                )

    async def _shred(self, request_id: UUID, customer_id: UUID) -> None:
        now = datetime.now(UTC)
        async with self._uow_factory() as uow:
            closures = [a.closed_at for a in await uow.accounts.list_for_customer(customer_id)]
            for retention_class, _ in DESTROYED:
                await uow.keys.destroy(customer_id, retention_class)
            session = uow.session
            await session.execute(
                update(ProfileRow)
                .where(ProfileRow.customer_id == customer_id)
                .values(email_index=None)
            )
            await session.execute(
                update(CustomerRow)
                .where(CustomerRow.id == customer_id)
                .values(referred_by=None, status=CustomerStatus.ERASED.value)
            )
            await session.execute(
                delete(CustomerCredentialRow).where(
                    CustomerCredentialRow.customer_id == customer_id
                )
            )
            await session.execute(
                update(GrantRow)
                .where(GrantRow.subject_id == customer_id, GrantRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            report = erasure_report(
                erased_at=now, financial_years=self._financial_years, account_closures=closures
            )
            await session.execute(
                update(DsrRequestRow)
                .where(DsrRequestRow.id == request_id)
                .values(
                    status=RequestStatus.COMPLETED.value,
                    progress=100,
                    completed_at=now,
                    result=json.dumps(report, sort_keys=True),
                    active_key=None,
                )
            )
            await uow.audit.append(
                AuditRecord(
                    actor=SYSTEM_ACTOR,
                    action="erasure.execute",
                    resource_type="customer",
                    subject_id=customer_id,
                    resource_id=str(request_id),
                    fields=tuple(c.value for c, _ in DESTROYED),
                    purpose="rights_fulfilment",
                )
            )
            await uow.commit()


async def retention_sweep(
    uow_factory: Callable[[], SqlUnitOfWork], *, years: int, now: datetime | None = None
) -> list[UUID]:
    """Destroy the financial keys of erased customers whose last account closed more than
    `years` ago (every account closed); returns the customers swept. Audited per customer."""
    now = now or datetime.now(UTC)
    swept: list[UUID] = []
    async with uow_factory() as uow:
        session = uow.session
        candidates = (
            await session.scalars(
                select(CustomerRow.id)
                .join(DataKeyRow, DataKeyRow.customer_id == CustomerRow.id)
                .where(
                    CustomerRow.status == CustomerStatus.ERASED.value,
                    DataKeyRow.retention_class == RetentionClass.FINANCIAL.value,
                )
            )
        ).all()
        for customer_id in candidates:
            closures = (
                await session.scalars(
                    select(AccountRow.closed_at).where(AccountRow.customer_id == customer_id)
                )
            ).all()
            if any(c is None for c in closures):
                continue  # an account is still open: the retention period has not started
            last = max((utc_out(c) for c in closures if c is not None), default=None)
            if last is not None and add_years(last, years) > now:
                continue
            await uow.keys.destroy(customer_id, RetentionClass.FINANCIAL)
            await uow.audit.append(
                AuditRecord(
                    actor=SYSTEM_ACTOR,
                    action="retention.sweep",
                    resource_type="customer",
                    subject_id=customer_id,
                    fields=(RetentionClass.FINANCIAL.value,),
                    purpose="retention_expired",
                )
            )
            swept.append(customer_id)
        await uow.commit()
    return swept
