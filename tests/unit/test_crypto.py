"""The master key, field cipher, key wrapper and blind index keep their promises."""

from __future__ import annotations

import base64
import pickle
from decimal import Decimal
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from msgspec.json import Decoder

from domain.errors import IntegrityError
from domain.retention import RetentionClass
from persistence.crypto import (
    FORMAT_VERSION,
    BlindIndexer,
    FieldCipher,
    KeyPurpose,
    KeyWrapper,
    MasterKey,
    associated_data,
    new_data_key,
)

RAW = bytes(range(32))
ROW = uuid4()


def test_master_key_hides_itself() -> None:
    key = MasterKey(RAW)
    for shown in (repr(key), str(key), f"{key}", repr([key])):
        assert RAW.hex() not in shown
        assert base64.b64encode(RAW).decode() not in shown
        assert "redacted" in shown
    with pytest.raises(TypeError):
        pickle.dumps(key)
    for other in (FieldCipher(RAW), KeyWrapper(key), BlindIndexer(key)):
        assert "redacted" in repr(other)


def test_master_key_parses_base64_and_refuses_anything_else() -> None:
    text = base64.b64encode(RAW).decode()
    assert MasterKey.from_base64(text).derive("x") == MasterKey(RAW).derive("x")
    urlsafe = base64.urlsafe_b64encode(RAW).decode().rstrip("=")
    assert MasterKey.from_base64(f"  {urlsafe}\n").derive("x") == MasterKey(RAW).derive("x")
    round_tripped = MasterKey.from_base64(MasterKey(RAW).to_base64())
    assert round_tripped.derive("x") == MasterKey(RAW).derive("x")
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKey.from_base64(base64.b64encode(bytes(16)).decode())
    with pytest.raises(ValueError, match="base64") as caught:
        MasterKey.from_base64("not base64 at all!!")
    assert "not base64 at all" not in str(caught.value)  # never echo a secret back


def test_derivations_differ_per_purpose_and_are_stable() -> None:
    key = MasterKey(RAW)
    derived = {purpose: key.derive(purpose) for purpose in KeyPurpose}
    assert len(set(derived.values())) == len(KeyPurpose)
    assert RAW not in derived.values()
    assert all(len(value) == 32 for value in derived.values())
    index_key = derived[KeyPurpose.EMAIL_BLIND_INDEX]
    assert MasterKey(RAW).derive("customer-email-blind-index") == index_key  # stable
    assert MasterKey(bytes(32)).derive(KeyPurpose.EMAIL_BLIND_INDEX) != index_key
    with pytest.raises(ValueError, match="purpose"):
        key.derive("")


def test_field_cipher_round_trips_text_and_none() -> None:
    cipher = FieldCipher(new_data_key())
    for value in ("Ada Lovelace", "", "Zoë 🚀 ünïcode", None):
        sealed = cipher.seal(value, table="t", column="c", row_id=ROW)
        assert cipher.open(sealed, table="t", column="c", row_id=ROW) == value
    sealed = cipher.seal("same", table="t", column="c", row_id=ROW)
    assert sealed != cipher.seal("same", table="t", column="c", row_id=ROW)  # fresh nonces
    assert b"same" not in sealed


@pytest.mark.parametrize(
    ("table", "column", "row_id"), [("other", "c", ROW), ("t", "other", ROW), ("t", "c", uuid4())]
)
def test_field_cipher_binds_table_column_and_row(table: str, column: str, row_id: object) -> None:
    cipher = FieldCipher(new_data_key())
    sealed = cipher.seal("secret", table="t", column="c", row_id=ROW)
    with pytest.raises(IntegrityError):
        cipher.open(sealed, table=table, column=column, row_id=row_id)  # type: ignore[arg-type]


def test_field_cipher_detects_every_single_byte_change() -> None:
    cipher = FieldCipher(new_data_key())
    sealed = cipher.seal("secret", table="t", column="c", row_id=ROW)
    for position in range(len(sealed)):
        altered = bytearray(sealed)
        altered[position] ^= 0x01
        with pytest.raises(IntegrityError):
            cipher.open(bytes(altered), table="t", column="c", row_id=ROW)
    for truncated in (b"", sealed[:5], sealed[:-1]):
        with pytest.raises(IntegrityError):
            cipher.open(truncated, table="t", column="c", row_id=ROW)
    with pytest.raises(IntegrityError):
        FieldCipher(new_data_key()).open(sealed, table="t", column="c", row_id=ROW)


def test_open_text_refuses_a_sealed_none() -> None:
    cipher = FieldCipher(new_data_key())
    sealed = cipher.seal(None, table="t", column="c", row_id=ROW)
    with pytest.raises(IntegrityError):
        cipher.open_text(sealed, table="t", column="c", row_id=ROW)


def test_column_opener_opens_what_open_opens() -> None:
    cipher = FieldCipher(new_data_key())
    values = ("12.50", "", "Zoë 🚀", None)
    columns = ("a", "b", "c", "d")
    sealed = [
        cipher.seal(value, table="t", column=column, row_id=ROW)
        for value, column in zip(values, columns, strict=True)
    ]
    assert cipher.columns("t", columns).open(ROW, sealed) == list(values)


def test_column_opener_makes_every_check_open_makes() -> None:
    cipher = FieldCipher(new_data_key())
    sealed = [cipher.seal("x", table="t", column=c, row_id=ROW) for c in ("a", "b")]
    opener = cipher.columns("t", ("a", "b"))
    refused = [
        [sealed[1], sealed[0]],  # swapped between columns
        [sealed[0], sealed[1][:-1]],  # truncated
        [sealed[0], b""],  # empty
        [sealed[0], bytes([sealed[1][0] ^ 0x01]) + sealed[1][1:]],  # unknown format
        [sealed[0], sealed[1][:-1] + bytes([sealed[1][-1] ^ 0x01])],  # altered
    ]
    for values in refused:
        with pytest.raises(IntegrityError):
            opener.open(ROW, values)
    with pytest.raises(IntegrityError):
        opener.open(uuid4(), sealed)  # another row
    with pytest.raises(IntegrityError):
        cipher.columns("other", ("a", "b")).open(ROW, sealed)  # another table
    with pytest.raises(IntegrityError):
        FieldCipher(new_data_key()).columns("t", ("a", "b")).open(ROW, sealed)  # another key


def test_fields_sealed_together_open_together() -> None:
    cipher = FieldCipher(new_data_key())
    values = ("12.50", "", 'Zoë 🚀 "quoted", [bracketed]', None)
    sealed = cipher.seal_fields(values, table="t", column="f", row_id=ROW)
    assert b"12.50" not in sealed
    assert "Zoë".encode() not in sealed
    assert cipher.fields("t", "f", 4).open(ROW, sealed) == values


def test_fields_opener_makes_every_check_open_makes_and_counts_the_fields() -> None:
    cipher = FieldCipher(new_data_key())
    sealed = cipher.seal_fields(("a", None), table="t", column="f", row_id=ROW)
    opener = cipher.fields("t", "f", 2)
    refused = [
        sealed[:-1],  # truncated
        b"",  # empty
        bytes([sealed[0] ^ 0x01]) + sealed[1:],  # unknown format
        sealed[:-1] + bytes([sealed[-1] ^ 0x01]),  # altered
        cipher.seal("a", table="t", column="f", row_id=ROW),  # one field, not a list of them
        cipher.seal_fields(("a", None, "c"), table="t", column="f", row_id=ROW),  # three
        cipher.seal_fields((), table="t", column="f", row_id=ROW),  # none
    ]
    for value in refused:
        with pytest.raises(IntegrityError):
            opener.open(ROW, value)
    with pytest.raises(IntegrityError):
        opener.open(uuid4(), sealed)  # another row
    with pytest.raises(IntegrityError):
        cipher.fields("t", "other", 2).open(ROW, sealed)  # another column
    with pytest.raises(IntegrityError):
        cipher.fields("other", "f", 2).open(ROW, sealed)  # another table
    with pytest.raises(IntegrityError):
        FieldCipher(new_data_key()).fields("t", "f", 2).open(ROW, sealed)  # another key


def test_fields_opener_refuses_what_is_not_a_list_of_texts() -> None:
    # What only a holder of the key could seal: still refused, never handed on.
    key = new_data_key()
    aead = AESGCM(key)
    nonce = bytes(12)
    ad = associated_data("t", "f", ROW)
    opener = FieldCipher(key).fields("t", "f", 2)
    for plaintext in (b'["a", 5]', b'{"a": "b"}', b"not json", b'["a", ["b"]]'):
        sealed = bytes([FORMAT_VERSION]) + nonce + aead.encrypt(nonce, plaintext, ad)
        with pytest.raises(IntegrityError):
            opener.open(ROW, sealed)


def test_fields_opener_with_a_shape_makes_its_types_and_refuses_what_does_not_fit() -> None:
    cipher = FieldCipher(new_data_key())
    opener = cipher.fields("t", "f", 2, shape=Decoder(tuple[Decimal, str | None]))

    def sealed(*values: str | None) -> bytes:
        return cipher.seal_fields(values, table="t", column="f", row_id=ROW)

    opened = opener.open(ROW, sealed("12.50", None))
    assert opened == (Decimal("12.50"), None)
    assert type(opened[0]) is Decimal
    assert str(opened[0]) == "12.50"  # the digits as sealed
    for refused in (sealed("twelve", "x"), sealed(None, "x"), sealed("1", "x", "y")):
        with pytest.raises(IntegrityError, match="malformed"):
            opener.open(ROW, refused)
    with pytest.raises(IntegrityError, match="authenticate"):
        opener.open(uuid4(), sealed("1", "x"))  # the shape changes none of the other checks


def test_fields_opener_opens_many_rows_in_order_and_refuses_the_page_on_one_bad_value() -> None:
    cipher = FieldCipher(new_data_key())
    opener = cipher.fields("t", "f", 2)
    rows = [uuid4() for _ in range(3)]
    sealed = [
        cipher.seal_fields((str(n), None), table="t", column="f", row_id=row)
        for n, row in enumerate(rows)
    ]
    assert opener.open_all(rows, sealed) == [("0", None), ("1", None), ("2", None)]
    assert opener.open_all([], []) == []
    swapped = [sealed[0], sealed[2], sealed[1]]  # two rows' values exchanged
    with pytest.raises(IntegrityError, match="authenticate"):
        opener.open_all(rows, swapped)
    with pytest.raises(IntegrityError, match="no valid sealed value"):
        opener.open_all(rows, [sealed[0], b"", sealed[2]])
    with pytest.raises(ValueError, match="zip"):
        opener.open_all(rows, sealed[:2])  # a value short: never paired with the wrong row


def test_wrapped_data_keys_are_bound_to_customer_and_class() -> None:
    wrapper = KeyWrapper(MasterKey(RAW))
    customer, data_key = uuid4(), new_data_key()
    wrapped = wrapper.wrap(data_key, customer, RetentionClass.CONTACT)
    assert data_key not in wrapped
    assert wrapper.unwrap(wrapped, customer, RetentionClass.CONTACT) == data_key
    for who, which in ((uuid4(), RetentionClass.CONTACT), (customer, RetentionClass.FINANCIAL)):
        with pytest.raises(IntegrityError):
            wrapper.unwrap(wrapped, who, which)
    with pytest.raises(IntegrityError):
        KeyWrapper(MasterKey(bytes(32))).unwrap(wrapped, customer, RetentionClass.CONTACT)


def test_blind_index_is_deterministic_keyed_and_not_the_email() -> None:
    index = BlindIndexer(MasterKey(RAW))
    email = "ada@example.org"
    assert index.blind_index(email) == index.blind_index(email)
    assert index.blind_index(email) != index.blind_index("bob@example.org")
    assert index.blind_index(email) != BlindIndexer(MasterKey(bytes(32))).blind_index(email)
    assert len(index.blind_index(email)) == 32
    assert email.encode() not in index.blind_index(email)
    # The index key is its own: not the wrapping key, not any other purpose's key.
    assert MasterKey(RAW).derive(KeyPurpose.EMAIL_BLIND_INDEX) != MasterKey(RAW).derive(
        KeyPurpose.DATA_KEY_WRAPPING
    )
