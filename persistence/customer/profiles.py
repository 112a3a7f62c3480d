"""Customers, their encrypted profiles, and the history of profile changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, Uuid, bindparam, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.customer.profile import (
    AcquisitionChannel,
    ChangeActor,
    Customer,
    CustomerStatus,
    Profile,
    ProfileChange,
)
from domain.errors import Conflict, NotFound
from domain.retention import RetentionClass
from domain.values import Email, PhoneNumber, PostalAddress
from persistence.crypto import BlindIndexer
from persistence.customer.tables import CustomerRow, ProfileChangeRow, ProfileRow
from persistence.driver_read import driver_read
from persistence.keystore import KeyDestroyed, SqlKeyRing
from persistence.sealing import RowSealer, utc_in, utc_out
from persistence.sqlite_driver import short_read

_PROFILES = ProfileRow.__tablename__
_PROFILES_TABLE: Table = ProfileRow.__table__  # type: ignore[assignment]
_CHANGES = ProfileChangeRow.__tablename__
_CONTACT = RetentionClass.CONTACT

# A plain row (Core), not a mapped instance: nothing here is changed through the ORM. The data
# key comes with the row: one round trip, not two. Built once: a read neither rebuilds the
# statement nor recomputes its cache key.
_PROFILE_QUERY = short_read(
    select(
        _PROFILES_TABLE,
        SqlKeyRing.wrapped_key_of(bindparam("customer_id", type_=Uuid), _CONTACT),
    ).where(ProfileRow.customer_id == bindparam("customer_id"))
)


class SqlCustomerRepository:
    """domain.ports.CustomerRepository: profile fields sealed under the customer's contact key,
    the email also kept as a blind index for look-ups."""

    def __init__(self, session: AsyncSession, keys: SqlKeyRing, index: BlindIndexer) -> None:
        self._session = session
        self._keys = keys
        self._index = index

    async def add(self, customer: Customer, profile: Profile) -> None:
        """Store a new customer and their profile. Raises Conflict when the email is taken."""
        if profile.customer_id != customer.id:
            raise ValueError("the profile belongs to another customer")
        await self._session.execute(
            insert(CustomerRow).values(
                id=customer.id,
                status=customer.status.value,
                created_at=utc_in(customer.created_at),
                acquisition_channel=customer.acquisition_channel.value,
                referred_by=customer.referred_by,
            )
        )
        values = await self._profile_values(profile, updated_at=customer.created_at)
        await self._guard_email(
            insert(ProfileRow).values(
                customer_id=profile.customer_id, version=profile.version, **values
            )
        )

    async def get(self, customer_id: UUID) -> Customer | None:
        """The customer, or None."""
        row = await self._session.scalar(
            select(CustomerRow)
            .where(CustomerRow.id == customer_id)
            .execution_options(populate_existing=True)
        )
        return None if row is None else _customer(row)

    async def get_profile(self, customer_id: UUID) -> Profile | None:
        """The decrypted profile, or None when there is none or its contact key was destroyed.

        Raises IntegrityError when a stored field does not authenticate.
        """
        # On the driver's connection (persistence.driver_read): one plain row.
        read = driver_read(_PROFILE_QUERY, self._session.get_bind().dialect)
        rows = await read.rows_in(self._session, {"customer_id": customer_id})
        if not rows:
            return None
        row = rows[0]
        try:
            cipher = await self._keys.cipher_for_reading(customer_id, _CONTACT, wrapped=row[-1])
        except KeyDestroyed:
            return None
        return _profile(row, RowSealer(cipher, _PROFILES, customer_id))

    async def find_by_email(self, email: Email) -> Customer | None:
        """The customer whose profile has this email (compared case-insensitively), or None."""
        row = await self._session.scalar(
            select(CustomerRow)
            .join(ProfileRow, ProfileRow.customer_id == CustomerRow.id)
            .where(ProfileRow.email_index == self._index.blind_index(email.normalized))
        )
        return None if row is None else _customer(row)

    async def update_profile(
        self, profile: Profile, *, expected_version: int, at: datetime
    ) -> Profile:
        """Replace the profile if it is still at `expected_version`; return it at the next one.

        Raises Conflict when someone changed it meanwhile (or the new email is taken),
        NotFound when there is no profile, KeyDestroyed when it was erased.
        """
        current = await self._session.scalar(
            select(ProfileRow.version).where(ProfileRow.customer_id == profile.customer_id)
        )
        if current is None:
            raise NotFound("no such profile")
        if current != expected_version:
            raise Conflict("the profile was changed meanwhile")
        values = await self._profile_values(profile, updated_at=at)
        result = await self._guard_email(
            update(ProfileRow)
            .where(
                ProfileRow.customer_id == profile.customer_id,
                ProfileRow.version == expected_version,
            )
            .values(version=expected_version + 1, **values)
        )
        if not getattr(result, "rowcount", 0):  # changed between our read and our write
            raise Conflict("the profile was changed meanwhile")
        return replace(profile, version=expected_version + 1)

    async def set_status(self, customer_id: UUID, status: CustomerStatus) -> bool:
        """Set the customer's status; False when there is no such customer."""
        result = await self._session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id).values(status=status.value)
        )
        return bool(getattr(result, "rowcount", 0))

    async def add_profile_changes(self, changes: Sequence[ProfileChange]) -> None:
        """Store profile changes (old and new values sealed under the contact key)."""
        rows: list[dict[str, Any]] = []
        for change in changes:
            cipher = await self._keys.cipher_for_writing(change.customer_id, _CONTACT)
            sealer = RowSealer(cipher, _CHANGES, change.id)
            rows.append(
                {
                    "id": change.id,
                    "customer_id": change.customer_id,
                    "version": change.version,
                    "field": change.field,
                    "old_value": sealer.seal("old_value", change.old_value),
                    "new_value": sealer.seal("new_value", change.new_value),
                    "actor": change.actor.value,
                    "actor_id": change.actor_id,
                    "client_id": change.client_id,
                    "at": utc_in(change.at),
                }
            )
        if rows:
            await self._session.execute(insert(ProfileChangeRow), rows)

    async def list_profile_changes(
        self,
        customer_id: UUID,
        *,
        limit: int = 50,
        before: tuple[int, UUID] | None = None,
    ) -> list[ProfileChange]:
        """The customer's profile changes, newest first; `before` = (version, id) of the last
        change of the previous page. Empty when the contact key was destroyed."""
        query = select(ProfileChangeRow).where(ProfileChangeRow.customer_id == customer_id)
        if before is not None:
            query = query.where(
                tuple_(ProfileChangeRow.version, ProfileChangeRow.id) < tuple_(before[0], before[1])
            )
        rows = (
            await self._session.scalars(
                query.order_by(ProfileChangeRow.version.desc(), ProfileChangeRow.id.desc()).limit(
                    limit
                )
            )
        ).all()
        if not rows:
            return []
        try:
            cipher = await self._keys.cipher_for_reading(customer_id, _CONTACT)
        except KeyDestroyed:
            return []
        return [_change(row, RowSealer(cipher, _CHANGES, row.id)) for row in rows]

    async def _profile_values(self, profile: Profile, *, updated_at: datetime) -> dict[str, Any]:
        cipher = await self._keys.cipher_for_writing(profile.customer_id, _CONTACT)
        sealer = RowSealer(cipher, _PROFILES, profile.customer_id)
        address = profile.address
        plain: dict[str, str | None] = {
            "given_name": profile.given_name,
            "family_name": profile.family_name,
            "preferred_name": profile.preferred_name,
            "email": profile.email.value,
            "phone": None if profile.phone is None else profile.phone.value,
            "address_line1": None if address is None else address.line1,
            "address_line2": None if address is None else address.line2,
            "address_city": None if address is None else address.city,
            "address_region": None if address is None else address.region,
            "address_postal_code": None if address is None else address.postal_code,
            "address_country": None if address is None else address.country,
            "date_of_birth": (
                None if profile.date_of_birth is None else profile.date_of_birth.isoformat()
            ),
            "language": profile.language,
        }
        values: dict[str, Any] = {
            column: sealer.seal(column, value) for column, value in plain.items()
        }
        values["email_index"] = self._index.blind_index(profile.email.normalized)
        values["updated_at"] = utc_in(updated_at)
        return values

    async def _guard_email(self, statement: Any) -> Any:
        # A savepoint, so that a duplicate email leaves the caller's transaction usable
        # (PostgreSQL aborts the whole transaction on a failed statement otherwise).
        try:
            async with self._session.begin_nested():
                return await self._session.execute(statement)
        except SqlIntegrityError as error:
            if "email_index" in str(error.orig) or "uq_profiles" in str(error.orig):
                raise Conflict("this email address is already in use") from None
            raise


def _customer(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        status=CustomerStatus(row.status),
        created_at=utc_out(row.created_at),
        acquisition_channel=AcquisitionChannel(row.acquisition_channel),
        referred_by=row.referred_by,
    )


def _profile(row: Any, sealer: RowSealer) -> Profile:
    line1 = sealer.optional("address_line1", row.address_line1)
    address = None
    if line1 is not None:
        address = PostalAddress(
            line1=line1,
            line2=sealer.optional("address_line2", row.address_line2),
            city=sealer.text("address_city", row.address_city),
            region=sealer.optional("address_region", row.address_region),
            postal_code=sealer.text("address_postal_code", row.address_postal_code),
            country=sealer.text("address_country", row.address_country),
        )
    phone = sealer.optional("phone", row.phone)
    birth = sealer.optional("date_of_birth", row.date_of_birth)
    return Profile(
        customer_id=row.customer_id,
        given_name=sealer.text("given_name", row.given_name),
        family_name=sealer.text("family_name", row.family_name),
        email=Email(sealer.text("email", row.email)),
        version=row.version,
        preferred_name=sealer.optional("preferred_name", row.preferred_name),
        phone=None if phone is None else PhoneNumber(phone),
        address=address,
        date_of_birth=None if birth is None else date.fromisoformat(birth),
        language=sealer.text("language", row.language),
    )


def _change(row: ProfileChangeRow, sealer: RowSealer) -> ProfileChange:
    return ProfileChange(
        id=row.id,
        customer_id=row.customer_id,
        version=row.version,
        field=row.field,
        old_value=sealer.optional("old_value", row.old_value),
        new_value=sealer.optional("new_value", row.new_value),
        actor=ChangeActor(row.actor),
        actor_id=row.actor_id,
        at=utc_out(row.at),
        client_id=row.client_id,
    )
