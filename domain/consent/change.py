"""Use cases of the consent ledger: read the current state and history, change a consent.

Granting and withdrawing are the same call (GDPR Art. 7(3): withdrawing is as easy as
giving). Changes to one customer's purpose are serialised by the ledger's lock, so
concurrent changes are all recorded, in order, and the last one recorded wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID, uuid4

from domain.analytics.membership import ANALYTICS_PURPOSE, AnalyticsProjection
from domain.audit.events import Actor, AuditRecord
from domain.clock import Clock
from domain.consent.ledger import (
    ConsentEvent,
    ConsentLedger,
    ConsentState,
    ReceiptSigner,
    receipt_claims,
    states,
)
from domain.consent.purposes import NotWithdrawable, OutdatedNotice, PurposeNotice, UnknownPurpose
from domain.ports import AuditSink, UnitOfWorkBase

COLLECTION_METHOD = "api:PUT /v1/me/consents"


class ConsentUnitOfWork(UnitOfWorkBase, Protocol):
    """What the consent use cases need from a unit of work."""

    @property
    def consents(self) -> ConsentLedger: ...
    @property
    def receipts(self) -> ReceiptSigner: ...
    @property
    def audit(self) -> AuditSink: ...

    @property
    def projection(self) -> AnalyticsProjection: ...

    @property
    def clock(self) -> Clock: ...


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """The outcome of a PUT: the event now current, and whether this call recorded it."""

    event: ConsentEvent
    notice: PurposeNotice
    created: bool


def _notice(notices: list[PurposeNotice], purpose: str) -> PurposeNotice:
    for notice in notices:
        if notice.purpose == purpose:
            return notice
    raise UnknownPurpose(purpose)


async def list_consents(
    uow: ConsentUnitOfWork, customer_id: UUID, actor: Actor, request_id: str | None = None
) -> list[ConsentState]:
    """Every purpose with the customer's current decision; the read is audited."""
    async with uow:
        result = states(await uow.consents.notices(), await uow.consents.latest_all(customer_id))
        await uow.audit.append(
            AuditRecord(actor, "read", "consents", subject_id=customer_id, request_id=request_id)
        )
        await uow.commit()
    return result


async def consent_history(
    uow: ConsentUnitOfWork, customer_id: UUID, actor: Actor, request_id: str | None = None
) -> list[ConsentEvent]:
    """The customer's whole ledger, oldest first, receipts included; the read is audited."""
    async with uow:
        events = await uow.consents.history(customer_id)
        await uow.audit.append(
            AuditRecord(
                actor, "read", "consent_history", subject_id=customer_id, request_id=request_id
            )
        )
        await uow.commit()
    return events


async def change_consent(
    uow: ConsentUnitOfWork,
    customer_id: UUID,
    purpose: str,
    *,
    granted: bool,
    notice_version: str,
    actor: Actor,
    request_id: str | None = None,
) -> ConsentChange:
    """Grant or withdraw consent to `purpose` under `notice_version`.

    Raises UnknownPurpose, NotWithdrawable (contract purposes) and OutdatedNotice (naming
    the current version). Repeating the current state records nothing and returns the
    existing event. Otherwise the new event, its signed receipt and an audit event are
    committed together.
    """
    async with uow:
        notice = _notice(await uow.consents.notices(), purpose)
        if not notice.consent_based and not granted:
            raise NotWithdrawable(purpose)
        if notice_version != notice.notice_version:
            raise OutdatedNotice(purpose, notice_version, notice.notice_version)
        await uow.consents.lock(customer_id, purpose)
        latest = await uow.consents.latest(customer_id, purpose)
        if (
            latest is not None
            and latest.granted == granted
            and latest.notice_version == notice_version
        ):
            return ConsentChange(latest, notice, created=False)
        at = uow.clock.now()
        receipt_id = uuid4()
        claims = receipt_claims(
            receipt_id=receipt_id,
            at=at,
            principal=uow.receipts.pseudonym(customer_id),
            notice=notice,
            granted=granted,
            collection_method=COLLECTION_METHOD,
            kid=uow.receipts.kid,
        )
        event = ConsentEvent(
            id=receipt_id,
            customer_id=customer_id,
            purpose=purpose,
            granted=granted,
            notice_version=notice_version,
            recorded_at=at,
            position=(latest.position + 1) if latest else 1,
            actor=actor,
            collection_method=COLLECTION_METHOD,
            receipt=uow.receipts.sign(claims),
        )
        await uow.consents.append(event)
        if purpose == ANALYTICS_PURPOSE:
            # Membership changes with the consent, in this transaction: never a moment
            # when the ledger says withdrawn and the projection still holds the customer.
            await (uow.projection.add if granted else uow.projection.remove)(customer_id)
        await uow.audit.append(
            AuditRecord(
                actor,
                "grant" if granted else "withdraw",
                "consent",
                subject_id=customer_id,
                resource_id=purpose,
                fields=("granted", "notice_version"),
                purpose=purpose,
                request_id=request_id,
            )
        )
        await uow.commit()
    return ConsentChange(event, notice, created=True)


def current_state(states_: list[ConsentState], purpose: str) -> ConsentState | None:
    """The state of one purpose in a list from `list_consents`."""
    return next((s for s in states_ if s.notice.purpose == purpose), None)
