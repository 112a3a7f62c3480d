"""Every data-subject request is due one calendar month after receipt, and may be extended
to three months after receipt at most; short months end on their last day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.deadlines import due_date, latest_extended_due, months_after


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (_at(2026, 12, 3), _at(2027, 1, 3)),  # after a 31-day month: not 30 days (2 January)
        (_at(2026, 12, 31), _at(2027, 1, 31)),  # across the year
        (_at(2027, 1, 31), _at(2027, 2, 28)),  # into a shorter month: its last day
        (_at(2028, 1, 31), _at(2028, 2, 29)),  # a leap year's February
        (_at(2027, 1, 29), _at(2027, 2, 28)),
        (_at(2028, 2, 29), _at(2028, 3, 29)),  # from a leap day
        (_at(2027, 2, 28), _at(2027, 3, 28)),  # the last of February is not "the last day"
        (_at(2027, 3, 31), _at(2027, 4, 30)),
        (_at(2027, 8, 31), _at(2027, 9, 30)),
        (_at(2027, 6, 15), _at(2027, 7, 15)),
    ],
)
def test_a_request_is_due_one_calendar_month_after_receipt(
    received: datetime, due: datetime
) -> None:
    assert due_date(received) == due


@pytest.mark.parametrize(
    ("received", "latest"),
    [
        (_at(2026, 12, 3), _at(2027, 3, 3)),
        (_at(2027, 1, 31), _at(2027, 4, 30)),  # from receipt, not from 28 February
        (_at(2026, 11, 30), _at(2027, 2, 28)),
        (_at(2027, 11, 30), _at(2028, 2, 29)),
        (_at(2027, 10, 31), _at(2028, 1, 31)),
    ],
)
def test_an_extension_ends_three_months_after_receipt_at_the_latest(
    received: datetime, latest: datetime
) -> None:
    assert latest_extended_due(received) == latest


def test_the_time_of_day_and_the_zone_are_kept() -> None:
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2027, 5, 31, 23, 59, 59, tzinfo=plus_two)
    assert months_after(moment, 1) == datetime(2027, 6, 30, 23, 59, 59, tzinfo=plus_two)
    assert months_after(moment, 12) == datetime(2028, 5, 31, 23, 59, 59, tzinfo=plus_two)
    assert months_after(moment, 0) == moment
