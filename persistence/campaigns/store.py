"""`domain.campaigns.ports.ContactStore` on the unit of work's session.

The policy's facts for a batch of customers come from seven queries whatever the batch size
(customers, latest consent, objections, pending erasures, preferences, recent contacts,
recent complaints), each filtered on the batch's ids; nothing is decrypted, because every
column the policy needs is a plaintext code or time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Uuid,
    any_,
    bindparam,
    delete,
    exc,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from domain.campaigns.policy import MONTH, ConsentFact, ContactFacts
from domain.campaigns.ports import RecordedContact
from domain.campaigns.preferences import ContactPreferences, QuietHours
from domain.customer.interactions import InteractionKind
from domain.customer.profile import CustomerStatus
from domain.dsr.requests import IN_PROGRESS, RequestType
from domain.errors import Conflict
from persistence.campaigns.tables import CampaignContactRow, ContactLockRow, ContactPreferenceRow
from persistence.consent.tables import ConsentEventRow
from persistence.customer.tables import CustomerRow, InteractionRow
from persistence.dsr.tables import DsrRequestRow
from persistence.sealing import utc_in, utc_out


class SqlContactStore:
    """Contacts, locks and preferences in the unit of work's transaction. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def facts(
        self, customer_ids: Sequence[UUID], purpose: str, now: datetime, cool_off: timedelta
    ) -> dict[UUID, ContactFacts]:
        """The policy's facts for every known customer among `customer_ids`."""
        ids = list(dict.fromkeys(customer_ids))
        if not ids:
            return {}
        statuses = dict(
            (
                await self._session.execute(
                    select(CustomerRow.id, CustomerRow.status).where(
                        self._among(CustomerRow.id, ids)
                    )
                )
            ).all()
        )
        known = list(statuses)
        if not known:
            return {}
        consents = await self._latest_consents(known, purpose)
        objections = dict(
            (
                await self._session.execute(
                    select(DsrRequestRow.customer_id, func.max(DsrRequestRow.received_at))
                    .where(
                        self._among(DsrRequestRow.customer_id, known),
                        DsrRequestRow.type == RequestType.OBJECTION.value,
                    )
                    .group_by(DsrRequestRow.customer_id)
                )
            ).all()
        )
        erasing = set(
            (
                await self._session.scalars(
                    select(DsrRequestRow.customer_id).where(
                        self._among(DsrRequestRow.customer_id, known),
                        DsrRequestRow.type == RequestType.ERASURE.value,
                        DsrRequestRow.status.in_([s.value for s in IN_PROGRESS]),
                    )
                )
            ).all()
        )
        preferences = {
            row.customer_id: _preferences(row)
            for row in (
                await self._session.scalars(
                    select(ContactPreferenceRow).where(
                        self._among(ContactPreferenceRow.customer_id, known)
                    )
                )
            ).all()
        }
        contacts: dict[UUID, list[datetime]] = defaultdict(list)
        for customer_id, sent_at in await self._session.execute(
            select(CampaignContactRow.customer_id, CampaignContactRow.sent_at).where(
                self._among(CampaignContactRow.customer_id, known),
                CampaignContactRow.sent_at > utc_in(now - MONTH),
            )
        ):
            contacts[customer_id].append(utc_out(sent_at))
        complaints = dict(
            (
                await self._session.execute(
                    select(InteractionRow.customer_id, func.max(InteractionRow.occurred_at))
                    .where(
                        self._among(InteractionRow.customer_id, known),
                        InteractionRow.kind == InteractionKind.COMPLAINT.value,
                        InteractionRow.occurred_at > utc_in(now - cool_off),
                    )
                    .group_by(InteractionRow.customer_id)
                )
            ).all()
        )
        return {
            customer_id: ContactFacts(
                customer_id=customer_id,
                status=CustomerStatus(status),
                consent=consents.get(customer_id),
                objected_at=_optional_utc(objections.get(customer_id)),
                erasure_pending=customer_id in erasing,
                preferences=preferences.get(customer_id, ContactPreferences()),
                contacts=tuple(contacts.get(customer_id, ())),
                last_complaint=_optional_utc(complaints.get(customer_id)),
            )
            for customer_id, status in statuses.items()
        }

    def _among(self, column: InstrumentedAttribute[UUID], ids: list[UUID]) -> ColumnElement[bool]:
        # PostgreSQL takes the batch as one array parameter (`= ANY($1)`): an IN list would
        # compile, cast and send a thousand parameters per query. SQLite has no arrays.
        if self._session.get_bind().dialect.name == "postgresql":
            return column == any_(bindparam(None, ids, type_=postgresql.ARRAY(Uuid)))
        return column.in_(ids)

    async def _latest_consents(self, ids: list[UUID], purpose: str) -> dict[UUID, ConsentFact]:
        newest = (
            select(
                ConsentEventRow.customer_id, func.max(ConsentEventRow.position).label("position")
            )
            .where(
                self._among(ConsentEventRow.customer_id, ids), ConsentEventRow.purpose == purpose
            )
            .group_by(ConsentEventRow.customer_id)
            .subquery()
        )
        rows = await self._session.execute(
            select(
                ConsentEventRow.customer_id,
                ConsentEventRow.granted,
                ConsentEventRow.notice_version,
                ConsentEventRow.recorded_at,
            )
            .join(
                newest,
                (ConsentEventRow.customer_id == newest.c.customer_id)
                & (ConsentEventRow.position == newest.c.position),
            )
            .where(ConsentEventRow.purpose == purpose)
        )
        return {
            customer_id: ConsentFact(granted, notice_version, utc_out(recorded_at))
            for customer_id, granted, notice_version, recorded_at in rows
        }

    async def lock_customer(self, customer_id: UUID) -> None:
        """Create the lock row if needed, then write to it: the write holds the row lock
        (PostgreSQL) or the database write lock (SQLite) until the transaction ends."""
        values = {"customer_id": customer_id, "decisions": 0}
        if self._session.get_bind().dialect.name == "postgresql":
            await self._session.execute(
                postgresql.insert(ContactLockRow).values(values).on_conflict_do_nothing()
            )
        else:
            await self._session.execute(
                sqlite.insert(ContactLockRow).values(values).on_conflict_do_nothing()
            )
        await self._session.execute(
            update(ContactLockRow)
            .where(ContactLockRow.customer_id == customer_id)
            .values(decisions=ContactLockRow.decisions + 1)
            .execution_options(synchronize_session=False)
        )

    async def contact_by_key(self, client_id: str, idempotency_key: str) -> RecordedContact | None:
        """The contact this client recorded under this key, if any."""
        row = await self._session.scalar(
            select(CampaignContactRow).where(
                CampaignContactRow.client_id == client_id,
                CampaignContactRow.idempotency_key == idempotency_key,
            )
        )
        return _contact(row) if row is not None else None

    async def add_contact(self, contact: RecordedContact) -> None:
        """Insert the contact; Conflict when the client already used the key (a race)."""
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    insert(CampaignContactRow).values(
                        id=contact.id,
                        customer_id=contact.customer_id,
                        campaign_id=contact.campaign_id,
                        channel=contact.channel,
                        sent_at=utc_in(contact.sent_at),
                        client_id=contact.client_id,
                        idempotency_key=contact.idempotency_key,
                    )
                )
        except exc.IntegrityError:
            raise Conflict("this idempotency key was already used for another contact") from None

    async def contacts_since(self, customer_id: UUID, since: datetime) -> list[RecordedContact]:
        """The customer's contacts at or after `since`, oldest first."""
        rows = await self._session.scalars(
            select(CampaignContactRow)
            .where(
                CampaignContactRow.customer_id == customer_id,
                CampaignContactRow.sent_at >= utc_in(since),
            )
            .order_by(CampaignContactRow.sent_at, CampaignContactRow.id)
        )
        return [_contact(row) for row in rows.all()]

    async def forget(self, customer_id: UUID) -> None:
        """Delete the customer's preferences, recorded contacts and lock row (erasure: they
        belong to the contact and interactions classes, destroyed at once). The contacts'
        interactions are sealed and go with the customer's interactions key."""
        for table in (ContactPreferenceRow, CampaignContactRow, ContactLockRow):
            await self._session.execute(delete(table).where(table.customer_id == customer_id))

    async def preferences(self, customer_id: UUID) -> ContactPreferences:
        """The stored preferences, or the defaults at version 0."""
        row = await self._session.get(ContactPreferenceRow, customer_id)
        return _preferences(row) if row is not None else ContactPreferences()

    async def save_preferences(
        self, customer_id: UUID, preferences: ContactPreferences, at: datetime
    ) -> ContactPreferences:
        """Insert or replace the row at the next version."""
        row = await self._session.get(ContactPreferenceRow, customer_id, with_for_update=True)
        quiet = preferences.quiet_hours
        values = {
            "channels": " ".join(sorted(preferences.channels)),
            "quiet_start": quiet.start.strftime("%H:%M") if quiet else None,
            "quiet_end": quiet.end.strftime("%H:%M") if quiet else None,
            "time_zone": quiet.time_zone if quiet else None,
            "weekly_limit": preferences.weekly_limit,
            "monthly_limit": preferences.monthly_limit,
            "updated_at": utc_in(at),
        }
        version = 1 if row is None else row.version + 1
        if row is None:
            await self._session.execute(
                insert(ContactPreferenceRow).values(customer_id=customer_id, version=1, **values)
            )
        else:
            await self._session.execute(
                update(ContactPreferenceRow)
                .where(ContactPreferenceRow.customer_id == customer_id)
                .values(version=version, **values)
                .execution_options(synchronize_session=False)
            )
        return ContactPreferences(
            preferences.channels,
            quiet,
            preferences.weekly_limit,
            preferences.monthly_limit,
            version,
            at,
        )


def _optional_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc_out(moment)


def _clock(text: str) -> time:
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes))


def _preferences(row: ContactPreferenceRow) -> ContactPreferences:
    quiet = None
    if row.quiet_start and row.quiet_end:
        quiet = QuietHours(_clock(row.quiet_start), _clock(row.quiet_end), row.time_zone or "UTC")
    return ContactPreferences(
        channels=frozenset(row.channels.split()),
        quiet_hours=quiet,
        weekly_limit=row.weekly_limit,
        monthly_limit=row.monthly_limit,
        version=row.version,
        updated_at=utc_out(row.updated_at),
    )


def _contact(row: CampaignContactRow) -> RecordedContact:
    return RecordedContact(
        id=row.id,
        customer_id=row.customer_id,
        campaign_id=row.campaign_id,
        channel=row.channel,
        sent_at=utc_out(row.sent_at),
        client_id=row.client_id,
        idempotency_key=row.idempotency_key,
    )
