"""Field encryption, key wrapping and blind indexes, all rooted in one master key.

Key hierarchy:

    master key (32 bytes, from CUSTODIAN_MASTER_KEY or a key file; never stored in the DB)
      |- HKDF "custodian/<purpose>" -> one key per job (KeyPurpose): wrapping data keys,
      |                                 the email blind index, pseudonyms, signing seeds...
      '- per customer and retention class: a random data key, stored only wrapped
         (persistence.keystore), which seals that customer's fields of that class.

Every sealed value is `version || nonce || AES-256-GCM(ciphertext + tag)`, with associated data
naming its table, column and row: a ciphertext copied to another row or column, or altered by
one bit, fails to open and raises domain.errors.IntegrityError. Never wrong data, only loud.

A sealed value holds one field (`FieldCipher.seal`: a presence marker, then the text) or
several fields of one row that are always read together (`FieldCipher.seal_fields`: the JSON
array of their texts and nulls). Opening is one AES-GCM call either way, and the call, not
the bytes, is what a page of rows pays for: one value per row where it was one per field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from functools import cache
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from msgspec import MsgspecError
from msgspec.json import Decoder, encode

from domain.errors import IntegrityError
from domain.retention import RetentionClass

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_VERSION = 1
"""First byte of every sealed value; a future format bumps it and keeps reading this one."""

_VERSION_PREFIX = bytes([FORMAT_VERSION])
_HEADER = 1 + NONCE_BYTES
_TAG_BYTES = 16
# Sealed values carry a one-byte presence marker inside the ciphertext, so that a stored None
# is as authenticated as a stored string (an attacker cannot blank a field unnoticed).
_PRESENT = b"\x01"
_ABSENT = b"\x00"
# The plaintext of `seal_fields`: a JSON array of texts and nulls, checked as it is decoded.
_FIELDS = Decoder(tuple[str | None, ...])


class KeyPurpose(StrEnum):
    """The jobs keys derived from the master key do. One key per job, never shared."""

    DATA_KEY_WRAPPING = "data-key-wrapping"
    EMAIL_BLIND_INDEX = "customer-email-blind-index"
    ANALYTICS_PSEUDONYM = "analytics-pseudonym"
    SIGNING_SEED = "signing-seed"


class MasterKey:
    """The 32-byte root secret. Its repr never shows it; use `derive` to get per-job keys."""

    __slots__ = ("__derived", "__key")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a master key is {KEY_BYTES} bytes, got {len(key)}")
        self.__key = bytes(key)
        self.__derived: dict[str, bytes] = {}

    @classmethod
    def generate(cls) -> MasterKey:
        """A fresh random master key (development set-up and tests)."""
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def from_base64(cls, text: str) -> MasterKey:
        """Parse the base64 form (standard or URL-safe alphabet, padding optional).

        Raises ValueError (without echoing the input) when it is not 32 bytes of base64.
        """
        cleaned = text.strip().replace("-", "+").replace("_", "/")
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            raw = base64.b64decode(cleaned, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the master key is not valid base64") from None
        return cls(raw)

    def to_base64(self) -> str:
        """The base64 form, for writing a development key file. Treat it as the key itself."""
        return base64.b64encode(self.__key).decode("ascii")

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for `purpose` (HKDF-SHA256, info "custodian/<purpose>").

        Different purposes give independent keys; the same purpose always gives the same key.
        """
        if not purpose:
            raise ValueError("a key purpose is required")
        derived = self.__derived.get(purpose)
        if derived is None:
            hkdf = HKDF(
                algorithm=hashes.SHA256(),
                length=KEY_BYTES,
                salt=None,
                info=f"custodian/{purpose}".encode(),
            )
            # Remembered: every unit of work derives its wrapping and index keys again.
            derived = self.__derived[purpose] = hkdf.derive(self.__key)
        return derived

    def __repr__(self) -> str:
        return "MasterKey(<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the key out in the clear: refuse.
        raise TypeError("a MasterKey cannot be pickled")


@cache
def _binding_prefix(table: str, column: str) -> bytes:
    return f"{FORMAT_VERSION}|{table}|{column}|".encode()


def associated_data(table: str, column: str, row_id: UUID | str) -> bytes:
    """What a sealed field is bound to: its format version, table, column and row."""
    # The UUID's 16 raw bytes: formatting it as text would cost as much as the AES-GCM call.
    row = row_id.bytes if isinstance(row_id, UUID) else row_id.encode()
    return _binding_prefix(table, column) + row


class FieldCipher:
    """Seals and opens text fields with one data key (AES-256-GCM, random 96-bit nonces).

    Cheap to call: the AESGCM object is built once per key. 2**32 seals per key keep the
    chance of a nonce collision negligible, far more than one customer's class ever holds.
    """

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a data key is {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "FieldCipher(<redacted>)"

    def seal(self, value: str | None, *, table: str, column: str, row_id: UUID | str) -> bytes:
        """Encrypt `value` (None too) for storage in `table.column` of row `row_id`."""
        plaintext = _ABSENT if value is None else _PRESENT + value.encode()
        nonce = os.urandom(NONCE_BYTES)
        ad = associated_data(table, column, row_id)
        return _VERSION_PREFIX + nonce + self._aead.encrypt(nonce, plaintext, ad)

    def seal_fields(
        self, values: Sequence[str | None], *, table: str, column: str, row_id: UUID | str
    ) -> bytes:
        """Encrypt several fields of one row (None too) as one value, for storage in
        `table.column` of row `row_id`; `fields` opens it."""
        nonce = os.urandom(NONCE_BYTES)
        ad = associated_data(table, column, row_id)
        return _VERSION_PREFIX + nonce + self._aead.encrypt(nonce, encode(values), ad)

    def fields(
        self, table: str, column: str, count: int, *, shape: Decoder[Any] = _FIELDS
    ) -> FieldsOpener:
        """An opener of what `seal_fields` stored in `table.column`, `count` fields a value,
        for many rows sealed under this key. `shape` decodes the fields: by default each a
        text or null; a decoder of a typed tuple makes and checks the types as it decodes."""
        return FieldsOpener(self._aead.decrypt, table, column, count, shape)

    def open(self, sealed: bytes, *, table: str, column: str, row_id: UUID | str) -> str | None:
        """Decrypt what `seal` produced for the same table, column and row.

        Raises IntegrityError when the value was altered, truncated, moved from another
        row or column, or sealed under another key.
        """
        ad = associated_data(table, column, row_id)
        return _open(self._aead.decrypt, sealed, ad, table, column)

    def columns(self, table: str, columns: Sequence[str]) -> ColumnOpener:
        """An opener of `columns` of `table`, for many rows sealed under this key."""
        return ColumnOpener(self._aead.decrypt, table, columns)

    def open_text(self, sealed: bytes, *, table: str, column: str, row_id: UUID | str) -> str:
        """Like `open`, for a field that is never None: a sealed None is an IntegrityError."""
        value = self.open(sealed, table=table, column=column, row_id=row_id)
        if value is None:
            raise IntegrityError(f"{table}.{column} is unexpectedly empty")
        return value


class ColumnOpener:
    """Opens the same sealed columns of many rows of one table under one key.

    `FieldCipher.open` for every column of every row, with the same checks, minus the
    per-call work that a page of rows shares: the associated-data prefixes are built once and
    the row id is turned into bytes once per row. A 50-row page opens 200 fields.
    """

    __slots__ = ("_columns", "_decrypt", "_prefixes", "_table")

    def __init__(
        self,
        decrypt: Callable[[bytes, bytes, bytes], bytes],
        table: str,
        columns: Sequence[str],
    ) -> None:
        self._decrypt = decrypt
        self._table = table
        self._columns = tuple(columns)
        self._prefixes = tuple(_binding_prefix(table, column) for column in columns)

    def open(self, row_id: UUID, sealed: Sequence[bytes]) -> list[str | None]:
        """The plaintexts (None for a sealed None) of `sealed`, one value per column in the
        order given, for the row `row_id`. IntegrityError as `FieldCipher.open` raises it."""
        row, decrypt, table = row_id.bytes, self._decrypt, self._table
        return [
            _open(decrypt, value, prefix + row, table, column)
            for value, prefix, column in zip(sealed, self._prefixes, self._columns, strict=True)
        ]


class FieldsOpener:
    """Opens the values `FieldCipher.seal_fields` stored in one column of many rows, with the
    checks `FieldCipher.open` makes and one more: the value holds exactly the fields it
    should, each a text or null (or of the type its shape names)."""

    __slots__ = ("_column", "_count", "_decrypt", "_prefix", "_shape", "_table")

    def __init__(
        self,
        decrypt: Callable[[bytes, bytes, bytes], bytes],
        table: str,
        column: str,
        count: int,
        shape: Decoder[Any] = _FIELDS,
    ) -> None:
        self._decrypt = decrypt
        self._table = table
        self._column = column
        self._count = count
        self._shape = shape
        self._prefix = _binding_prefix(table, column)

    def open(self, row_id: UUID, sealed: bytes) -> tuple[Any, ...]:
        """The fields sealed in `sealed` for the row `row_id`. IntegrityError when the value
        was altered, truncated, moved from another row or column, sealed under another key,
        or does not hold `count` fields of its shape."""
        return self.open_all((row_id,), (sealed,))[0]

    def open_all(self, row_ids: Iterable[UUID], sealed: Iterable[bytes]) -> list[tuple[Any, ...]]:
        """`open` for many rows, paired in order: one call for a page, whose fifty values
        otherwise cost as much in calls as in AES-GCM."""
        decrypt, decode, prefix, count = (
            self._decrypt,
            self._shape.decode,
            self._prefix,
            self._count,
        )
        opened = []
        for row_id, value in zip(row_ids, sealed, strict=True):
            if len(value) < _HEADER + _TAG_BYTES or value[0] != FORMAT_VERSION:
                raise IntegrityError(f"{self._table}.{self._column} holds no valid sealed value")
            try:
                plaintext = decrypt(value[1:_HEADER], value[_HEADER:], prefix + row_id.bytes)
            except InvalidTag:
                raise IntegrityError(
                    f"{self._table}.{self._column} does not authenticate"
                ) from None
            try:
                values: tuple[Any, ...] = decode(plaintext)
            except MsgspecError:
                values = ()
            if len(values) != count:
                raise IntegrityError(f"{self._table}.{self._column} holds a malformed value")
            opened.append(values)
        return opened


def _open(
    decrypt: Callable[[bytes, bytes, bytes], bytes],
    sealed: bytes,
    ad: bytes,
    table: str,
    column: str,
) -> str | None:
    """The plaintext of a sealed value bound to `ad`, or IntegrityError (see FieldCipher)."""
    if len(sealed) < _HEADER + _TAG_BYTES or sealed[0] != FORMAT_VERSION:
        raise IntegrityError(f"{table}.{column} holds no valid sealed value")
    try:
        plaintext = decrypt(sealed[1:_HEADER], sealed[_HEADER:], ad)
    except InvalidTag:
        raise IntegrityError(f"{table}.{column} does not authenticate") from None
    if plaintext == _ABSENT:
        return None
    if plaintext[:1] != _PRESENT:
        raise IntegrityError(f"{table}.{column} holds a malformed value")
    return plaintext[1:].decode()


class KeyWrapper:
    """Wraps data keys under the master key's wrapping key, bound to customer and class."""

    __slots__ = ("_aead",)

    def __init__(self, master: MasterKey) -> None:
        self._aead = AESGCM(master.derive(KeyPurpose.DATA_KEY_WRAPPING))

    def __repr__(self) -> str:
        return "KeyWrapper(<redacted>)"

    @staticmethod
    def _ad(customer_id: UUID, retention_class: RetentionClass) -> bytes:
        return f"{FORMAT_VERSION}|data-key|{customer_id}|{retention_class.value}".encode()

    def wrap(self, data_key: bytes, customer_id: UUID, retention_class: RetentionClass) -> bytes:
        """The data key encrypted for storage in the key table."""
        nonce = os.urandom(NONCE_BYTES)
        return (
            _VERSION_PREFIX
            + nonce
            + self._aead.encrypt(nonce, data_key, self._ad(customer_id, retention_class))
        )

    def unwrap(self, wrapped: bytes, customer_id: UUID, retention_class: RetentionClass) -> bytes:
        """The data key; IntegrityError if it was altered, moved, or wrapped by another master."""
        if len(wrapped) < _HEADER + _TAG_BYTES or wrapped[0] != FORMAT_VERSION:
            raise IntegrityError("a stored data key is malformed")
        try:
            key = self._aead.decrypt(
                wrapped[1:_HEADER], wrapped[_HEADER:], self._ad(customer_id, retention_class)
            )
        except InvalidTag:
            raise IntegrityError(
                "a stored data key does not authenticate (wrong master key, or tampering)"
            ) from None
        if len(key) != KEY_BYTES:
            raise IntegrityError("a stored data key has the wrong length")
        return key


class BlindIndexer:
    """Keyed hashes for equality look-ups on encrypted values (HMAC-SHA256)."""

    __slots__ = ("_key",)

    def __init__(self, master: MasterKey) -> None:
        self._key = master.derive(KeyPurpose.EMAIL_BLIND_INDEX)

    def __repr__(self) -> str:
        return "BlindIndexer(<redacted>)"

    def blind_index(self, email_normalized: str) -> bytes:
        """32 bytes identifying `email_normalized` (pass `Email.normalized`): equal inputs give
        equal outputs, and without the master key the email cannot be recovered or guessed."""
        return hmac.new(self._key, email_normalized.encode(), hashlib.sha256).digest()


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)
