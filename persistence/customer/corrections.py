"""Correction requests, and changing the one field of a record a request names.

The request's texts (current, requested and replaced values, the reasons) are sealed under
the customer's interactions key ("correction texts" in the retention table): they are
destroyed with the customer's interactions on erasure. The corrected record itself is sealed
as its own table is (accounts and transactions under the financial key).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    Select,
    String,
    Uuid,
    select,
    tuple_,
)
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.customer.corrections import CorrectionRequest, CorrectionStatus, TargetType
from domain.customer.profile import CustomerStatus
from domain.retention import DataCategory as Cat
from domain.retention import RetentionClass as Ret
from persistence.base import Base, declare, sealed
from persistence.customer.tables import AccountRow, CustomerRow, InteractionRow, TransactionRow
from persistence.customer.transaction_fields import (
    LEGACY_COLUMNS,
    READ_COLUMNS,
    TransactionFieldsOpener,
    seal_fields,
)
from persistence.keystore import KeyDestroyed, SqlKeyRing
from persistence.sealing import RowSealer, utc_in, utc_out, utc_out_optional

_PENDING = (CorrectionStatus.SUBMITTED.value, CorrectionStatus.IN_REVIEW.value)


class CorrectionRequestRow(Base):
    __tablename__ = "correction_requests"
    __table_args__ = (
        Index(None, "customer_id", "received_at", "id"),
        Index(None, "target_id", "field"),
    )

    id: Mapped[UUID] = mapped_column(
        Uuid, primary_key=True, info=declare(Cat.IDENTIFIER, Ret.EVIDENCE)
    )
    customer_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), info=declare(Cat.IDENTIFIER, Ret.EVIDENCE)
    )
    target_type: Mapped[str] = mapped_column(String(20), info=declare(Cat.TECHNICAL, Ret.EVIDENCE))
    target_id: Mapped[UUID] = mapped_column(Uuid, info=declare(Cat.IDENTIFIER, Ret.EVIDENCE))
    field: Mapped[str] = mapped_column(String(50), info=declare(Cat.TECHNICAL, Ret.EVIDENCE))
    current_value: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
    requested_value: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
    reason: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
    status: Mapped[str] = mapped_column(String(20), info=declare(Cat.TECHNICAL, Ret.EVIDENCE))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(Cat.TECHNICAL, Ret.EVIDENCE)
    )
    due_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), info=declare(Cat.TECHNICAL, Ret.EVIDENCE)
    )
    decided_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), info=declare(Cat.TECHNICAL, Ret.EVIDENCE)
    )
    # A staff id, never a name.
    decided_by: Mapped[str | None] = mapped_column(
        String(100), info=declare(Cat.IDENTIFIER, Ret.EVIDENCE)
    )
    decision_reason: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )
    # The value the applied correction replaced: the record's correction history.
    previous_value: Mapped[bytes] = mapped_column(
        LargeBinary, info=sealed(Cat.BEHAVIOURAL, Ret.INTERACTIONS)
    )


_TABLE = CorrectionRequestRow.__tablename__
# Where each correctable record lives and the key class its sealed columns use.
_TARGETS: dict[TargetType, tuple[Any, Ret]] = {
    TargetType.ACCOUNT: (AccountRow, Ret.FINANCIAL),
    TargetType.TRANSACTION: (TransactionRow, Ret.FINANCIAL),
    TargetType.INTERACTION: (InteractionRow, Ret.INTERACTIONS),
}
_PLAINTEXT_FIELDS = frozenset({(TargetType.TRANSACTION, "category")})


class SqlCorrectionRepository:
    """domain.customer.corrections.CorrectionRepository on SQL; never commits."""

    def __init__(self, session: AsyncSession, keys: SqlKeyRing) -> None:
        self._session = session
        self._keys = keys

    async def add(self, request: CorrectionRequest) -> None:
        """Store a new request with its texts sealed."""
        cipher = await self._keys.cipher_for_writing(request.customer_id, Ret.INTERACTIONS)
        sealer = RowSealer(cipher, _TABLE, request.id)
        self._session.add(
            CorrectionRequestRow(
                id=request.id,
                customer_id=request.customer_id,
                target_type=request.target_type.value,
                target_id=request.target_id,
                field=request.field,
                current_value=sealer.seal("current_value", request.current_value),
                requested_value=sealer.seal("requested_value", request.requested_value),
                reason=sealer.seal("reason", request.reason),
                status=request.status.value,
                received_at=utc_in(request.received_at),
                due_at=utc_in(request.due_at),
                decided_at=None,
                decided_by=None,
                decision_reason=sealer.seal("decision_reason", None),
                previous_value=sealer.seal("previous_value", None),
            )
        )
        await self._session.flush()

    async def get(
        self,
        request_id: UUID,
        customer_id: UUID | None = None,
    ) -> CorrectionRequest | None:
        """The request (only the customer's when `customer_id` is given), or None (also when
        its texts were erased)."""
        query = select(CorrectionRequestRow).where(CorrectionRequestRow.id == request_id)
        if customer_id is not None:
            query = query.where(CorrectionRequestRow.customer_id == customer_id)
        row = await self._session.scalar(query.execution_options(populate_existing=True))
        if row is None:
            return None
        found = await self._decrypt(row.customer_id, [row])
        return found[0] if found else None

    async def _newest_first(
        self,
        query: Select[CorrectionRequestRow],
        limit: int,
        before: tuple[datetime, UUID] | None,
    ) -> Sequence[CorrectionRequestRow]:
        """One page of `query`'s requests, newest first: keyset on (received_at, id)."""
        if before is not None:
            query = query.where(
                tuple_(CorrectionRequestRow.received_at, CorrectionRequestRow.id)
                < tuple_(utc_in(before[0]), before[1])
            )
        ordered = query.order_by(
            CorrectionRequestRow.received_at.desc(), CorrectionRequestRow.id.desc()
        )
        return (await self._session.scalars(ordered.limit(limit))).all()

    async def list_for_customer(
        self,
        customer_id: UUID,
        *,
        limit: int,
        before: tuple[datetime, UUID] | None = None,
    ) -> list[CorrectionRequest]:
        """The customer's requests, newest first, keyset on (received_at, id)."""
        query = select(CorrectionRequestRow).where(CorrectionRequestRow.customer_id == customer_id)
        rows = await self._newest_first(query, limit, before)
        return await self._decrypt(customer_id, rows)

    async def list_received(
        self,
        *,
        pending: bool | None,
        limit: int,
        before: tuple[datetime, UUID] | None = None,
    ) -> list[CorrectionRequest]:
        """Every customer's requests, newest first, keyset on (received_at, id); with
        `pending`, only the undecided (True) or the decided (False) ones. Erased customers'
        requests are left out in the query, so a page is never short of rows that exist."""
        query = (
            select(CorrectionRequestRow)
            .join(CustomerRow, CustomerRow.id == CorrectionRequestRow.customer_id)
            .where(CustomerRow.status != CustomerStatus.ERASED.value)
        )
        if pending is not None:
            undecided = CorrectionRequestRow.status.in_(_PENDING)
            query = query.where(undecided if pending else ~undecided)
        rows = await self._newest_first(query, limit, before)
        # Each customer's texts open with that customer's key: one key look-up per customer.
        opened: dict[UUID, CorrectionRequest] = {}
        for customer_id in dict.fromkeys(row.customer_id for row in rows):
            mine = [row for row in rows if row.customer_id == customer_id]
            opened.update((found.id, found) for found in await self._decrypt(customer_id, mine))
        return [opened[row.id] for row in rows if row.id in opened]

    async def has_pending(self, target_id: UUID, field: str) -> bool:
        """Whether a submitted or in-review request already names this field of this record."""
        found = await self._session.scalar(
            select(CorrectionRequestRow.id)
            .where(
                CorrectionRequestRow.target_id == target_id,
                CorrectionRequestRow.field == field,
                CorrectionRequestRow.status.in_(_PENDING),
            )
            .limit(1)
        )
        return found is not None

    async def save_decision(self, request: CorrectionRequest) -> None:
        """Store the status, decision and replaced value of a decided request."""
        cipher = await self._keys.cipher_for_writing(request.customer_id, Ret.INTERACTIONS)
        sealer = RowSealer(cipher, _TABLE, request.id)
        await self._session.execute(
            sql_update(CorrectionRequestRow)
            .where(CorrectionRequestRow.id == request.id)
            .values(
                status=request.status.value,
                decided_at=None if request.decided_at is None else utc_in(request.decided_at),
                decided_by=request.decided_by,
                decision_reason=sealer.seal("decision_reason", request.decision_reason),
                previous_value=sealer.seal("previous_value", request.previous_value),
            )
        )

    async def current_value(
        self, customer_id: UUID, target_type: TargetType, target_id: UUID, field: str
    ) -> tuple[bool, str | None]:
        """(exists, value) of the field of the customer's record; (False, None) when the
        record is missing, someone else's, or erased."""
        model, retention = _TARGETS[target_type]
        if target_type is TargetType.TRANSACTION and field in LEGACY_COLUMNS:
            return await self._transaction_value(customer_id, target_id, field)
        column = getattr(model, field)
        stored = (
            await self._session.execute(
                select(column).where(model.id == target_id, model.customer_id == customer_id)
            )
        ).first()
        if stored is None:
            return False, None
        if (target_type, field) in _PLAINTEXT_FIELDS:
            return True, stored[0]
        try:
            cipher = await self._keys.cipher_for_reading(customer_id, retention)
        except KeyDestroyed:
            return False, None
        return True, RowSealer(cipher, model.__tablename__, target_id).optional(field, stored[0])

    async def set_value(
        self, customer_id: UUID, target_type: TargetType, target_id: UUID, field: str, value: str
    ) -> None:
        """Change the record's field, sealed like the record's other values."""
        model, retention = _TARGETS[target_type]
        if target_type is TargetType.TRANSACTION and field in LEGACY_COLUMNS:
            await self._set_transaction_field(customer_id, target_id, field, value)
            return
        stored: Any = value
        if (target_type, field) not in _PLAINTEXT_FIELDS:
            cipher = await self._keys.cipher_for_writing(customer_id, retention)
            stored = RowSealer(cipher, model.__tablename__, target_id).seal(field, value)
        await self._session.execute(
            sql_update(model)
            .where(model.id == target_id, model.customer_id == customer_id)
            .values({field: stored})
        )

    async def _transaction_value(
        self, customer_id: UUID, transaction_id: UUID, field: str
    ) -> tuple[bool, str | None]:
        """`current_value` of one of a transaction's sealed fields."""
        stored = await self._stored_transaction_fields(customer_id, transaction_id)
        if stored is None:
            return False, None
        try:
            cipher = await self._keys.cipher_for_reading(customer_id, Ret.FINANCIAL)
        except KeyDestroyed:
            return False, None
        fields = TransactionFieldsOpener(cipher).open(transaction_id, stored)
        return True, fields[LEGACY_COLUMNS.index(field)]

    async def _set_transaction_field(
        self, customer_id: UUID, transaction_id: UUID, field: str, value: str
    ) -> None:
        """A transaction's four fields are sealed together: open them, change one, seal them
        again. A row stored in the older form (one value a column) is written in the new one."""
        stored = await self._stored_transaction_fields(customer_id, transaction_id)
        if stored is None:
            return
        cipher = await self._keys.cipher_for_writing(customer_id, Ret.FINANCIAL)
        fields = TransactionFieldsOpener(cipher).open(transaction_id, stored)
        changed: list[str | None] = list(fields)
        changed[LEGACY_COLUMNS.index(field)] = value
        await self._session.execute(
            sql_update(TransactionRow)
            .where(TransactionRow.id == transaction_id, TransactionRow.customer_id == customer_id)
            .values(
                sealed_fields=seal_fields(cipher, transaction_id, changed),
                **dict.fromkeys(LEGACY_COLUMNS),
            )
        )

    async def _stored_transaction_fields(
        self, customer_id: UUID, transaction_id: UUID
    ) -> Sequence[bytes | None] | None:
        """The `READ_COLUMNS` of the customer's transaction; None when there is no such one."""
        return (
            await self._session.execute(
                select(*READ_COLUMNS).where(
                    TransactionRow.id == transaction_id, TransactionRow.customer_id == customer_id
                )
            )
        ).first()

    async def _decrypt(
        self,
        customer_id: UUID,
        rows: Sequence[CorrectionRequestRow],
    ) -> list[CorrectionRequest]:
        if not rows:
            return []
        try:
            cipher = await self._keys.cipher_for_reading(customer_id, Ret.INTERACTIONS)
        except KeyDestroyed:
            return []
        return [_request(row, RowSealer(cipher, _TABLE, row.id)) for row in rows]


def _request(row: CorrectionRequestRow, sealer: RowSealer) -> CorrectionRequest:
    return CorrectionRequest(
        id=row.id,
        customer_id=row.customer_id,
        target_type=TargetType(row.target_type),
        target_id=row.target_id,
        field=row.field,
        current_value=sealer.optional("current_value", row.current_value),
        requested_value=sealer.text("requested_value", row.requested_value),
        reason=sealer.text("reason", row.reason),
        status=CorrectionStatus(row.status),
        received_at=utc_out(row.received_at),
        due_at=utc_out(row.due_at),
        decided_at=utc_out_optional(row.decided_at),
        decided_by=row.decided_by,
        decision_reason=sealer.optional("decision_reason", row.decision_reason),
        previous_value=sealer.optional("previous_value", row.previous_value),
    )
