"""Carry out an erasure (Art. 17), and destroy financial records once their legal hold ends.

Erasure is crypto-shredding: one transaction destroys the customer's `contact` and
`interactions` data keys, whatever the amount of data, so erasing a customer with 100,000
transactions takes as long as one with ten. The same transaction clears what could still
identify the customer in plaintext, deletes their sign-in credentials, revokes every grant,
marks them erased and stores the report. Consents are first recorded as withdrawn, each
through the consent ledger with its signed receipt. Running it again changes nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from domain.audit.events import SYSTEM_ACTOR, AuditRecord
from domain.clock import Clock
from domain.consent.change import ConsentUnitOfWork, change_consent
from domain.dsr.erasure import DESTROYED, add_years, erasure_report
from domain.dsr.ports import ErasureUnitOfWork, Progress
from domain.retention import RetentionClass


async def execute_erasure(
    units: Callable[[], ErasureUnitOfWork],
    consent_units: Callable[[], ConsentUnitOfWork],
    clock: Clock,
    request_id: UUID,
    *,
    financial_years: int,
    progress: Progress,
) -> None:
    """Erase the customer of the erasure request `request_id` and record its report.

    Raises LookupError when the request does not exist (the job then fails for good)."""
    async with units() as uow:
        request = await uow.dsr.get(request_id)
    if request is None:
        raise LookupError("the erasure request is gone")
    customer_id = request.customer_id
    await progress(5)
    await _withdraw_consents(units, consent_units, customer_id)
    await progress(30)
    now = clock.now()
    async with units() as uow:
        closures = await uow.erasure.account_closures(customer_id)
        for retention_class, _ in DESTROYED:
            await uow.keys.destroy(customer_id, retention_class)
        await uow.erasure.forget_customer(customer_id)
        await uow.campaigns.forget(customer_id)
        await uow.sign_in.revoke_all(customer_id, now)
        report = erasure_report(
            erased_at=now, financial_years=financial_years, account_closures=closures
        )
        await uow.dsr.complete(request_id, report=report, at=now)
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
    async with units() as uow:  # the archives go too, not just the key that seals them
        await uow.dsr.delete_customer_archives(customer_id)
        await uow.commit()


async def _withdraw_consents(
    units: Callable[[], ErasureUnitOfWork],
    consent_units: Callable[[], ConsentUnitOfWork],
    customer_id: UUID,
) -> None:
    async with units() as uow:
        notices = {n.purpose: n for n in await uow.consents.notices()}
        latest = await uow.consents.latest_all(customer_id)
    for purpose, event in latest.items():
        notice = notices.get(purpose)
        if event.granted and notice is not None and notice.consent_based:
            await change_consent(
                consent_units(),
                customer_id,
                purpose,
                granted=False,
                notice_version=notice.notice_version,
                actor=SYSTEM_ACTOR,
            )


async def sweep_financial_records(
    units: Callable[[], ErasureUnitOfWork], clock: Clock, *, years: int
) -> list[UUID]:
    """Destroy the financial keys of erased customers whose every account closed more than
    `years` ago; returns the customers swept. Each destruction is audited."""
    now = clock.now()
    swept: list[UUID] = []
    async with units() as uow:
        for customer_id in await uow.erasure.erased_holding(RetentionClass.FINANCIAL):
            closures = await uow.erasure.account_closures(customer_id)
            if any(c is None for c in closures):
                continue  # an account is still open: the retention period has not started
            last = max((c for c in closures if c is not None), default=None)
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
