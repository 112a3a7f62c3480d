"""Per-customer, per-retention-class data keys, stored wrapped; destroying one shreds the data.

Erasure deletes the key row (so the key is gone from the key table; backups taken afterwards
hold nothing that opens the data) and records a tombstone in `destroyed_keys`, so that a later
write can never quietly create a fresh key and make the customer's erased class live again.

What a destroyed key means to callers: `cipher_for_reading` raises `KeyDestroyed`, a
`domain.errors.NotFound` (erased data is gone, and the API answers it like any missing
resource); the repositories turn that into "no such profile/row" per their ports. A key that is
missing *without* a tombstone while data exists means corruption: IntegrityError.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    DateTime,
    ForeignKey,
    LargeBinary,
    ScalarSelect,
    String,
    Uuid,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.errors import IntegrityError, NotFound
from domain.retention import ENCRYPTED_CLASSES, DataCategory, RetentionClass
from persistence.base import Base, declare
from persistence.crypto import FieldCipher, KeyWrapper, MasterKey, new_data_key

_KEY_INFO = declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
_ID_INFO = declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)


class KeyDestroyed(NotFound):
    """The customer's data key for this class was destroyed: that data is erased for good."""


class DataKeyRow(Base):
    """A customer's data key for one retention class, wrapped under the master key."""

    __tablename__ = "data_keys"

    customer_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), primary_key=True, info=_ID_INFO
    )
    retention_class: Mapped[str] = mapped_column(String(20), primary_key=True, info=_KEY_INFO)
    # AES-GCM under the master-derived wrapping key, bound to customer id and class.
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary, info=_KEY_INFO)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=_KEY_INFO)


class DestroyedKeyRow(Base):
    """A tombstone: this class of this customer was crypto-shredded, never to be re-keyed."""

    __tablename__ = "destroyed_keys"

    customer_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), primary_key=True, info=_ID_INFO
    )
    retention_class: Mapped[str] = mapped_column(
        String(20), primary_key=True, info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )
    destroyed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
    )


def _encrypted(retention_class: RetentionClass) -> RetentionClass:
    if retention_class not in ENCRYPTED_CLASSES:
        raise ValueError(f"retention class {retention_class.value!r} has no data keys")
    return retention_class


class SqlKeyRing:
    """domain.ports.KeyRing over the `data_keys` table, for one unit of work.

    Unwrapped keys are cached only for the life of this object (one unit of work), so a key
    destroyed elsewhere stops working at the next unit of work at the latest.
    """

    def __init__(self, session: AsyncSession, master: MasterKey | KeyWrapper) -> None:
        self._session = session
        self._wrapper = master if isinstance(master, KeyWrapper) else KeyWrapper(master)
        self._ciphers: dict[tuple[UUID, RetentionClass], FieldCipher] = {}

    async def key_for(self, customer_id: UUID, retention_class: RetentionClass) -> bytes:
        """The customer's data key for the class, created on first use.

        Raises KeyDestroyed when the class was erased (a fresh key is never made for it).
        """
        _encrypted(retention_class)
        stored = await self._load(customer_id, retention_class)
        if stored is not None:
            return stored
        if await self._is_destroyed(customer_id, retention_class):
            raise KeyDestroyed(f"{retention_class.value} data of this customer was erased")
        await self._insert_if_absent(customer_id, retention_class, new_data_key())
        # Re-read rather than trust our own key: a concurrent unit of work may have won.
        stored = await self._load(customer_id, retention_class)
        if stored is None:
            raise IntegrityError("a data key vanished while it was being created")
        return stored

    async def cipher_for_writing(
        self, customer_id: UUID, retention_class: RetentionClass
    ) -> FieldCipher:
        """A FieldCipher under `key_for` (get or create); cached within this unit of work."""
        cached = self._ciphers.get((customer_id, retention_class))
        if cached is None:
            cached = FieldCipher(await self.key_for(customer_id, retention_class))
            self._ciphers[(customer_id, retention_class)] = cached
        return cached

    async def cipher_for_reading(
        self, customer_id: UUID, retention_class: RetentionClass, *, wrapped: bytes | None = None
    ) -> FieldCipher:
        """A FieldCipher for data that exists: never creates a key.

        `wrapped` is the stored key when the caller already selected it (`wrapped_key_of`).
        Raises KeyDestroyed when the class was erased, IntegrityError when the key is missing
        without having been destroyed (the data can then not be authentic).
        """
        cached = self._ciphers.get((customer_id, _encrypted(retention_class)))
        if cached is not None:
            return cached
        if wrapped is not None:
            stored: bytes | None = self._wrapper.unwrap(wrapped, customer_id, retention_class)
        else:
            stored = await self._load(customer_id, retention_class)
        if stored is None:
            if await self._is_destroyed(customer_id, retention_class):
                raise KeyDestroyed(f"{retention_class.value} data of this customer was erased")
            raise IntegrityError(f"the {retention_class.value} data key of a customer is missing")
        cipher = FieldCipher(stored)
        self._ciphers[(customer_id, retention_class)] = cipher
        return cipher

    @staticmethod
    def wrapped_key_of(
        customer: UUID | ColumnElement[UUID], retention_class: RetentionClass
    ) -> ScalarSelect[bytes]:
        """A scalar subquery giving the customer's stored (wrapped) data key for the class:
        selected beside the rows it opens, it saves the key's own round trip. Hand what it
        gives to `cipher_for_reading(..., wrapped=...)`. `customer` is an id, or a bound
        parameter of a statement built once."""
        return (
            select(DataKeyRow.wrapped_key)
            .where(
                DataKeyRow.customer_id == customer,
                DataKeyRow.retention_class == _encrypted(retention_class).value,
            )
            .scalar_subquery()
        )

    async def has_key(self, customer_id: UUID, retention_class: RetentionClass) -> bool:
        """Whether the customer's data key for the class exists (not yet created or destroyed
        both answer False)."""
        row = await self._session.scalar(
            select(DataKeyRow.customer_id).where(
                DataKeyRow.customer_id == customer_id,
                DataKeyRow.retention_class == retention_class.value,
            )
        )
        return row is not None

    async def is_destroyed(self, customer_id: UUID, retention_class: RetentionClass) -> bool:
        """Whether the class was erased for this customer."""
        return await self._is_destroyed(customer_id, retention_class)

    async def destroy(self, customer_id: UUID, retention_class: RetentionClass) -> bool:
        """Delete the key row and record a tombstone (crypto-shredding).

        Returns False when there was no key. Either way the class can never get a key again.
        """
        _encrypted(retention_class)
        self._ciphers.pop((customer_id, retention_class), None)
        result = await self._session.execute(
            delete(DataKeyRow).where(
                DataKeyRow.customer_id == customer_id,
                DataKeyRow.retention_class == retention_class.value,
            )
        )
        if not await self._is_destroyed(customer_id, retention_class):
            await self._session.execute(
                insert(DestroyedKeyRow).values(
                    customer_id=customer_id,
                    retention_class=retention_class.value,
                    destroyed_at=datetime.now(UTC),
                )
            )
        return bool(getattr(result, "rowcount", 0))

    async def _load(self, customer_id: UUID, retention_class: RetentionClass) -> bytes | None:
        wrapped = await self._session.scalar(
            select(DataKeyRow.wrapped_key).where(
                DataKeyRow.customer_id == customer_id,
                DataKeyRow.retention_class == retention_class.value,
            )
        )
        if wrapped is None:
            return None
        return self._wrapper.unwrap(wrapped, customer_id, retention_class)

    async def _is_destroyed(self, customer_id: UUID, retention_class: RetentionClass) -> bool:
        row = await self._session.scalar(
            select(DestroyedKeyRow.customer_id).where(
                DestroyedKeyRow.customer_id == customer_id,
                DestroyedKeyRow.retention_class == retention_class.value,
            )
        )
        return row is not None

    async def _insert_if_absent(
        self, customer_id: UUID, retention_class: RetentionClass, key: bytes
    ) -> None:
        values = {
            "customer_id": customer_id,
            "retention_class": retention_class.value,
            "wrapped_key": self._wrapper.wrap(key, customer_id, retention_class),
            "created_at": datetime.now(UTC),
        }
        dialect = self._session.get_bind().dialect.name
        insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
        await self._session.execute(insert_fn(DataKeyRow).values(values).on_conflict_do_nothing())
