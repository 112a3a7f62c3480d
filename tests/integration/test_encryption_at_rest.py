"""Personal data is never stored in the clear, and stored ciphertext cannot be tampered with
or moved without the read failing loudly."""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import persistence_samples as samples
import pytest
from older_transactions import add_in_the_older_form
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.customer.accounts import Transaction
from domain.errors import IntegrityError
from domain.values import Email, PhoneNumber, PostalAddress
from persistence.customer.tables import ProfileRow, TransactionRow
from persistence.keystore import DataKeyRow
from persistence.uow import SqlUnitOfWork

UowFactory = Callable[[], SqlUnitOfWork]

CANARIES = {
    "given_name": "Zanzibarquux",
    "family_name": "Qwertyplonkington",
    "preferred_name": "Snorkelwhistle",
    "email": "Canary.Xylophone@Example.ORG",
    "phone": "+447700900987",
    "line1": "77 Marmalade Canaryway",
    "city": "Plumbquartzville",
    "account": "Gobbledyfund Savings",
    "description": "Quokkaburger Emporium",
    "merchant": "Vorpal Teashop",
    "summary": "Mentioned the purple narwhal",
    "outcome": "Promised a Flibbertigibbet",
}
PLAINTEXT_CONTROL = "zzplaincontrolcategory"
"""Stored in a plaintext column on purpose: proves the scan reads the stored data at all."""


def _encodings(text: str) -> list[bytes]:
    """The ways `text` could appear in raw storage or a dump."""
    forms: list[bytes] = []
    for variant in {text, text.lower(), text.upper()}:
        utf8 = variant.encode()
        forms += [
            utf8,
            variant.encode("utf-16-le"),
            variant.encode("utf-16-be"),
            utf8.hex().encode(),
            utf8.hex().upper().encode(),
            codecs.encode(utf8, "base64").strip(),
        ]
    return forms


def _leaks(blob: bytes) -> list[str]:
    return [
        name for name, text in CANARIES.items() if any(form in blob for form in _encodings(text))
    ]


async def _store_canaries(uow_factory: UowFactory) -> tuple[list[object], list[object]]:
    customer = samples.customer()
    profile = replace(
        samples.profile(customer.id),
        given_name=CANARIES["given_name"],
        family_name=CANARIES["family_name"],
        preferred_name=CANARIES["preferred_name"],
        email=Email(CANARIES["email"]),
        phone=PhoneNumber(CANARIES["phone"]),
        address=PostalAddress(
            line1=CANARIES["line1"], city=CANARIES["city"], postal_code="N1 9GU", country="GB"
        ),
    )
    account = replace(samples.account(customer.id), name=CANARIES["account"])
    transaction = samples.transaction(account)._replace(
        description=CANARIES["description"],
        merchant=CANARIES["merchant"],
        category=PLAINTEXT_CONTROL,
    )
    interaction = replace(
        samples.interaction(customer.id), summary=CANARIES["summary"], outcome=CANARIES["outcome"]
    )
    async with uow_factory() as uow:
        await uow.customers.add(customer, profile)
        await uow.accounts.add(account)
        await uow.transactions.add_many([transaction])
        await uow.interactions.add_many([interaction])
        await uow.commit()
    async with uow_factory() as uow:
        stored = [
            await uow.customers.get_profile(customer.id),
            await uow.accounts.get(customer.id, account.id),
            await uow.transactions.get(customer.id, transaction.id),
            await uow.interactions.get(customer.id, interaction.id),
        ]
    return [profile, account, transaction, interaction], stored


async def _raw_storage(db_url: str) -> bytes:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        path = Path(url.database)
        return b"".join(
            p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
        )
    process = await asyncio.create_subprocess_exec(
        "pg_dump",
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
        url.database or "",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out


async def test_canaries_never_reach_storage_but_read_back(
    db_url: str, engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    written, read_back = await _store_canaries(uow_factory)
    assert read_back == written

    live = await _raw_storage(db_url)  # SQLite: the committed data is still in the WAL
    assert PLAINTEXT_CONTROL.encode() in live
    assert _leaks(live) == []

    await engine.dispose()  # SQLite: checkpoints the WAL into the main file
    settled = await _raw_storage(db_url)
    assert PLAINTEXT_CONTROL.encode() in settled
    assert _leaks(settled) == []


async def _one(engine: AsyncEngine, statement: object) -> bytes:
    async with engine.connect() as connection:
        value = (await connection.execute(statement)).scalar_one()  # type: ignore[call-overload]
    assert isinstance(value, bytes)
    return value


async def _write(engine: AsyncEngine, statement: object) -> None:
    async with engine.begin() as connection:
        await connection.execute(statement)  # type: ignore[call-overload]


async def test_a_flipped_byte_is_detected(engine: AsyncEngine, uow_factory: UowFactory) -> None:
    customer = samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.commit()
    sealed = bytearray(
        await _one(
            engine, select(ProfileRow.given_name).where(ProfileRow.customer_id == customer.id)
        )
    )
    sealed[len(sealed) // 2] ^= 0x01
    await _write(
        engine,
        update(ProfileRow)
        .where(ProfileRow.customer_id == customer.id)
        .values(given_name=bytes(sealed)),
    )
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.customers.get_profile(customer.id)


async def test_ciphertext_moved_to_another_row_or_column_is_detected(
    engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    customer = samples.customer()
    account = samples.account(customer.id)
    first, second, third, fourth, fifth = (
        samples.transaction(account, description=f"Item {i}") for i in range(5)
    )
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.accounts.add(account)
        await uow.transactions.add_many([first, second, third])
        await add_in_the_older_form(uow, [fourth, fifth])
        await uow.commit()

    def row(transaction: Transaction) -> ColumnElement[bool]:
        return TransactionRow.id == transaction.id

    fields = select(TransactionRow.sealed_fields)
    # Same customer, same key, same column: only the row binding tells them apart.
    await _write(
        engine,
        update(TransactionRow)
        .where(row(second))
        .values(sealed_fields=await _one(engine, fields.where(row(first)))),
    )
    # Same row, same key: only the column binding tells them apart, in either form.
    moved = await _one(engine, fields.where(row(third)))
    await _write(
        engine,
        update(TransactionRow)
        .where(row(third))
        .values(
            sealed_fields=None, amount=moved, description=moved, merchant=moved, reference=moved
        ),
    )
    reference = await _one(engine, select(TransactionRow.reference).where(row(fifth)))
    await _write(engine, update(TransactionRow).where(row(fifth)).values(merchant=reference))
    async with uow_factory() as uow:
        assert await uow.transactions.get(customer.id, first.id) == first
        assert await uow.transactions.get(customer.id, fourth.id) == fourth
        for damaged in (second, third, fifth):
            with pytest.raises(IntegrityError):
                await uow.transactions.get(customer.id, damaged.id)
        with pytest.raises(IntegrityError):
            await uow.transactions.list_for_account(customer.id, account.id)


async def test_ciphertext_moved_to_another_customer_is_detected(
    engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    alice, bob = samples.customer(), samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(alice, samples.profile(alice.id))
        await uow.customers.add(bob, samples.profile(bob.id))
        await uow.commit()
    alices_phone = await _one(
        engine, select(ProfileRow.phone).where(ProfileRow.customer_id == alice.id)
    )
    await _write(
        engine,
        update(ProfileRow).where(ProfileRow.customer_id == bob.id).values(phone=alices_phone),
    )
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.customers.get_profile(bob.id)


async def test_a_tampered_data_key_is_detected(
    engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    customer = samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.commit()
    wrapped = bytearray(
        await _one(
            engine, select(DataKeyRow.wrapped_key).where(DataKeyRow.customer_id == customer.id)
        )
    )
    wrapped[-1] ^= 0x80
    await _write(
        engine,
        update(DataKeyRow)
        .where(DataKeyRow.customer_id == customer.id)
        .values(wrapped_key=bytes(wrapped)),
    )
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.customers.get_profile(customer.id)
