"""When a data subject must be answered: one rule for every request they make (an export,
an erasure, a correction).

GDPR Art. 12(3): "without undue delay and in any event within one month of receipt",
which "may be extended by two further months where necessary". A month is a calendar
month, counted from the moment of receipt in UTC: the same day and time a month later,
or that month's last day when it is shorter (31 January -> 28 February, or 29 in a leap
year; 31 March -> 30 April). Thirty days would fall a day short of the month after 31-day
months (3 December -> 2 January instead of 3 January).
"""

from __future__ import annotations

import calendar
from datetime import datetime

RESPONSE_MONTHS = 1
"""The time to answer, from receipt."""
EXTENSION_MONTHS = 2
"""The one extension adds at most this many further months."""


def months_after(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months after `moment`, or the last day of
    that month when it has no such day (31 January + 1 -> 28/29 February)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def due_date(received_at: datetime) -> datetime:
    """When a request received at `received_at` must be answered: one month later."""
    return months_after(received_at, RESPONSE_MONTHS)


def latest_extended_due(received_at: datetime) -> datetime:
    """The latest an extension may move the answer to: the month and the two further
    months, three months from receipt (counted from receipt, not from the first due date,
    so 31 January gives 30 April, not 28 April)."""
    return months_after(received_at, RESPONSE_MONTHS + EXTENSION_MONTHS)
