"""The SQLite readings of persistence.base.UTC_DATETIME (stored text to aware UTC) and
persistence.base.UUID_KEY (stored hexadecimal digits to a UUID)."""

from __future__ import annotations

import pickle
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.dialects import sqlite

from persistence.base import UTC_DATETIME, UUID_KEY, column_converter

DIALECT = sqlite.dialect()
_READ = UTC_DATETIME.dialect_impl(DIALECT).result_processor(DIALECT, None)
_WRITE = UTC_DATETIME.dialect_impl(DIALECT).bind_processor(DIALECT)
_READ_ID = UUID_KEY.dialect_impl(DIALECT).result_processor(DIALECT, None)
_WRITE_ID = UUID_KEY.dialect_impl(DIALECT).bind_processor(DIALECT)


def read(text: str | None) -> Any:
    assert _READ is not None
    return _READ(text)


def write(moment: datetime) -> Any:
    assert _WRITE is not None
    return _WRITE(moment)


def test_what_sqlite_stores_reads_back_as_the_same_instant_in_utc() -> None:
    moment = datetime(2026, 3, 29, 1, 30, 5, 42, tzinfo=UTC)
    back = read(write(moment))
    assert back == moment
    assert back.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-29 01:30:05", datetime(2026, 3, 29, 1, 30, 5, tzinfo=UTC)),  # SQLite's own
        (
            "2026-03-29 03:30:05.000042+02:00",
            datetime(2026, 3, 29, 1, 30, 5, 42, tzinfo=UTC),
        ),
        ("2026-03-29T01:30:05Z", datetime(2026, 3, 29, 1, 30, 5, tzinfo=UTC)),
        ("2026-03-29", datetime(2026, 3, 29, tzinfo=UTC)),  # midnight UTC, not the host's
    ],
)
def test_text_in_other_forms_reads_as_utc(text: str, expected: datetime) -> None:
    back = read(text)
    assert back == expected
    assert back.utcoffset() == timedelta(0)
    assert back.tzinfo is UTC


def test_no_value_reads_as_none_and_text_that_is_no_time_is_refused() -> None:
    assert read(None) is None
    with pytest.raises(ValueError, match="isoformat"):
        read("yesterday")


def read_id(text: str | None) -> Any:
    assert _READ_ID is not None
    return _READ_ID(text)


def test_a_stored_id_reads_back_as_an_equal_uuid_in_every_respect() -> None:
    for _ in range(200):
        original = uuid4()
        stored = _WRITE_ID(original) if _WRITE_ID is not None else original.hex
        back = read_id(stored)
        assert type(back) is UUID
        assert back == original
        assert hash(back) == hash(original)
        assert (str(back), repr(back), back.version) == (str(original), repr(original), 4)
        assert back.is_safe is original.is_safe
        assert pickle.loads(pickle.dumps(back)) == original
    assert read_id(None) is None


@pytest.mark.parametrize(
    "text",
    [
        "d434d03d-e8be-4b38-b92d-364a8e0f80e9",  # other forms UUID() takes
        "{d434d03de8be4b38b92d364a8e0f80e9}",
        "0x" + "a" * 30,
        "+" + "a" * 31,
        "a" * 31 + " ",
        # and text it refuses
        "-" + "a" * 31,
        "g" * 32,
        "a_" * 16,
        "a" * 31,
    ],
)
def test_text_in_other_forms_reads_as_uuid_reads_it(text: str) -> None:
    try:
        expected: object = UUID(text)
    except ValueError as refused:
        with pytest.raises(ValueError, match=re.escape(str(refused))):
            read_id(text)
    else:
        assert read_id(text) == expected


_READ_DATE = sqlite.DATE().result_processor(DIALECT, None)
_COLUMNS = {
    "id": (
        _READ_ID,
        [
            uuid4().hex,
            None,
            "D434D03DE8BE4B38B92D364A8E0F80E9",
            "d434d03d-e8be-4b38-b92d-364a8e0f80e9",
            "{d434d03de8be4b38b92d364a8e0f80e9}",  # taken by UUID() only
            "0x" + "a" * 30,
        ],
        ["g" * 32, "a" * 31],
    ),
    "time": (
        _READ,
        [
            "2026-03-29 01:30:05.000042",
            None,
            "2026-03-29 03:30:05+02:00",
            "2026-03-29",
            "2026-03-29T01:30:05Z",
        ],
        ["yesterday"],
    ),
    "date": (
        _READ_DATE,
        ["2026-03-29", None, "20260329", "2026-W13-7"],  # the last two: date.fromisoformat only
        ["2026-02-30", "spring"],
    ),
}


@pytest.mark.parametrize("column", list(_COLUMNS))
def test_a_column_converted_at_once_equals_its_values_converted_one_by_one(column: str) -> None:
    convert, values, refused = _COLUMNS[column]
    assert convert is not None
    at_once = column_converter(convert)
    # The stored form alone (the one-call path), then mixed with every other form.
    for sample in (values[:1] * 3, values, values[::-1]):
        converted = at_once(sample)
        expected = [convert(value) for value in sample]
        assert converted == expected
        assert [type(value) for value in converted] == [type(value) for value in expected]
        assert [getattr(value, "tzinfo", None) for value in converted] == [
            getattr(value, "tzinfo", None) for value in expected
        ]
    for value in refused:
        try:
            convert(value)
        except ValueError as own:
            with pytest.raises(type(own), match=re.escape(str(own))):
                at_once([values[0], value])
        else:
            pytest.fail(f"{value!r} was taken")


def test_a_column_of_another_type_is_converted_value_by_value() -> None:
    assert column_converter(str.upper)(["a", "b"]) == ["A", "B"]
    assert column_converter(str.upper)([]) == []
