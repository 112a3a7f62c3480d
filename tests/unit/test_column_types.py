"""The SQLite reading of persistence.base.UTC_DATETIME: stored text to aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite

from persistence.base import UTC_DATETIME

DIALECT = sqlite.dialect()
_READ = UTC_DATETIME.dialect_impl(DIALECT).result_processor(DIALECT, None)
_WRITE = UTC_DATETIME.dialect_impl(DIALECT).bind_processor(DIALECT)


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
