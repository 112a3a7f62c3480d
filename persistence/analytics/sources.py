"""Read what the projection needs about a batch of customers, decrypting only that.

Per customer: status and codes of `customers` (plaintext), birth date and country (two
sealed profile fields, contact key), account types, dates and balances (financial key),
the amounts of the window's booked transactions (financial key: a transaction's amount is
sealed with its description, merchant and reference, which are opened with it and dropped
at once; none of them reaches the projection), the window's interaction codes (plaintext)
and when the customers they referred joined. Membership facts come from the consent
ledger and request records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import String, and_, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from domain.analytics.membership import ANALYTICS_PURPOSE, MembershipFacts
from domain.analytics.projecting import (
    CustomerSource,
    SourceAccount,
    SourceContact,
    SourceTransaction,
    window_start,
)
from domain.retention import RetentionClass
from persistence.consent.tables import ConsentEventRow, PurposeNoticeRow
from persistence.customer import transaction_fields
from persistence.customer.tables import (
    AccountRow,
    CustomerRow,
    InteractionRow,
    ProfileRow,
    TransactionRow,
)
from persistence.customer.transaction_fields import TransactionFieldsOpener
from persistence.dsr.tables import DsrRequestRow
from persistence.keystore import KeyDestroyed, SqlKeyRing
from persistence.sealing import utc_in, utc_out, utc_out_optional


async def current_notice_version(session: AsyncSession) -> str | None:
    """The `analytics` purpose's current notice version (highest revision)."""
    return await session.scalar(
        select(PurposeNoticeRow.notice_version)
        .where(PurposeNoticeRow.purpose == ANALYTICS_PURPOSE)
        .order_by(PurposeNoticeRow.revision.desc())
        .limit(1)
    )


async def membership_facts(
    session: AsyncSession, customer_ids: Sequence[UUID]
) -> dict[UUID, MembershipFacts]:
    """What the membership rule needs, for each of the customers that exist."""
    notice = await current_notice_version(session)
    latest = (
        select(ConsentEventRow.customer_id, func.max(ConsentEventRow.position).label("position"))
        .where(
            ConsentEventRow.purpose == ANALYTICS_PURPOSE,
            ConsentEventRow.customer_id.in_(customer_ids),
        )
        .group_by(ConsentEventRow.customer_id)
        .subquery()
    )
    consents = {
        row.customer_id: row
        for row in (
            await session.execute(
                select(
                    ConsentEventRow.customer_id,
                    ConsentEventRow.granted,
                    ConsentEventRow.notice_version,
                    ConsentEventRow.recorded_at,
                ).join(
                    latest,
                    and_(
                        latest.c.customer_id == ConsentEventRow.customer_id,
                        latest.c.position == ConsentEventRow.position,
                        ConsentEventRow.purpose == ANALYTICS_PURPOSE,
                    ),
                )
            )
        ).all()
    }
    requests = (
        await session.execute(
            select(
                DsrRequestRow.customer_id,
                DsrRequestRow.type,
                DsrRequestRow.status,
                DsrRequestRow.received_at,
            ).where(
                DsrRequestRow.customer_id.in_(customer_ids),
                DsrRequestRow.type.in_(("objection", "erasure")),
            )
        )
    ).all()
    objected: dict[UUID, datetime] = {}
    pending: set[UUID] = set()
    for request in requests:
        if request.type == "objection":
            at = utc_out(request.received_at)
            objected[request.customer_id] = max(at, objected.get(request.customer_id, at))
        elif request.status in {"queued", "running"}:
            pending.add(request.customer_id)
    statuses = (
        await session.execute(
            select(CustomerRow.id, CustomerRow.status).where(CustomerRow.id.in_(customer_ids))
        )
    ).all()
    facts: dict[UUID, MembershipFacts] = {}
    for customer_id, status in statuses:
        consent = consents.get(customer_id)
        facts[customer_id] = MembershipFacts(
            status=status,
            consent_granted=bool(consent and consent.granted),
            consent_notice_version=consent.notice_version if consent else None,
            current_notice_version=notice,
            granted_at=utc_out(consent.recorded_at) if consent and consent.granted else None,
            objected_at=objected.get(customer_id),
            erasure_pending=customer_id in pending,
        )
    return facts


async def read_sources(
    session: AsyncSession, keys: SqlKeyRing, customer_ids: Sequence[UUID], as_of: date
) -> list[CustomerSource]:
    """The source records of the customers (those whose data can still be read)."""
    if not customer_ids:
        return []
    start = datetime.fromisoformat(window_start(as_of) + "-01T00:00:00+00:00")
    sources: dict[UUID, CustomerSource] = {}
    people = await session.execute(
        select(
            CustomerRow.id,
            CustomerRow.created_at,
            CustomerRow.acquisition_channel,
            CustomerRow.referred_by,
            ProfileRow.date_of_birth,
            ProfileRow.address_country,
        )
        .join(ProfileRow, ProfileRow.customer_id == CustomerRow.id)
        .where(CustomerRow.id.in_(customer_ids))
    )
    for row in people.all():
        try:
            contact = await keys.cipher_for_reading(row.id, RetentionClass.CONTACT)
        except KeyDestroyed:
            continue
        birth = contact.open(
            row.date_of_birth, table="profiles", column="date_of_birth", row_id=row.id
        )
        sources[row.id] = CustomerSource(
            customer_id=row.id,
            created_at=utc_out(row.created_at),
            acquisition_channel=row.acquisition_channel,
            referred=row.referred_by is not None,
            date_of_birth=None if birth is None else date.fromisoformat(birth),
            country=contact.open(
                row.address_country, table="profiles", column="address_country", row_id=row.id
            ),
        )
    ids = list(sources)
    await _accounts(session, keys, sources, ids)
    await _transactions(session, keys, sources, ids, start)
    contacts = await session.execute(
        select(
            InteractionRow.customer_id,
            InteractionRow.occurred_at,
            InteractionRow.channel,
            InteractionRow.kind,
            InteractionRow.direction,
            InteractionRow.satisfaction,
        ).where(InteractionRow.customer_id.in_(ids), InteractionRow.occurred_at >= utc_in(start))
    )
    for c in contacts.all():
        sources[c.customer_id].contacts.append(
            SourceContact(utc_out(c.occurred_at), c.channel, c.kind, c.direction, c.satisfaction)
        )
    referrals = await session.execute(
        select(CustomerRow.referred_by, CustomerRow.created_at).where(
            CustomerRow.referred_by.in_(ids)
        )
    )
    for referrer, joined in referrals.all():
        if referrer is not None:
            sources[referrer].referrals.append(utc_out(joined))
    return [sources[i] for i in ids]


async def _accounts(
    session: AsyncSession, keys: SqlKeyRing, sources: dict[UUID, CustomerSource], ids: list[UUID]
) -> None:
    rows = await session.execute(
        select(
            AccountRow.id,
            AccountRow.customer_id,
            AccountRow.type,
            AccountRow.opened_at,
            AccountRow.closed_at,
            AccountRow.balance,
        ).where(AccountRow.customer_id.in_(ids))
    )
    for row in rows.all():
        cipher = await keys.cipher_for_reading(row.customer_id, RetentionClass.FINANCIAL)
        balance = cipher.open_text(row.balance, table="accounts", column="balance", row_id=row.id)
        sources[row.customer_id].accounts.append(
            SourceAccount(
                row.id,
                row.type,
                utc_out(row.opened_at),
                utc_out_optional(row.closed_at),
                Decimal(balance),
            )
        )


async def _transactions(
    session: AsyncSession,
    keys: SqlKeyRing,
    sources: dict[UUID, CustomerSource],
    ids: list[UUID],
    start: datetime,
) -> None:
    # One query per customer (the index led by customer_id), and the account id read
    # raw: turning two more UUID columns of every row into uuid.UUID objects cost a quarter
    # of the rebuild's time. The row id stays a UUID: it binds the ciphertext.
    account = type_coerce(TransactionRow.account_id, String)
    for customer_id in ids:
        source = sources[customer_id]
        accounts = {a.id.hex: a.id for a in source.accounts}
        rows = await session.execute(
            select(
                TransactionRow.id,
                account,
                TransactionRow.booked_at,
                TransactionRow.direction,
                TransactionRow.category,
                *transaction_fields.READ_COLUMNS,
            ).where(
                TransactionRow.customer_id == customer_id,
                TransactionRow.booked_at >= utc_in(start),
                TransactionRow.status == "booked",
            )
        )
        found = rows.all()
        if not found:
            continue  # no transactions (and perhaps no financial key yet): nothing to open
        cipher = await keys.cipher_for_reading(customer_id, RetentionClass.FINANCIAL)
        opener = TransactionFieldsOpener(cipher)
        append = source.transactions.append
        for row_id, account_id, booked_at, direction, category, *sealed in found:
            amount = Decimal(opener.open(row_id, sealed)[0])
            append(
                SourceTransaction(
                    accounts[str(account_id).replace("-", "")],
                    utc_out(booked_at),
                    amount if direction == "credit" else -amount,
                    category,
                )
            )
