"""The customer's own contact preferences: which channels, when not, and how often at most.

Preferences can only narrow what consent allows: a channel without consent stays closed
whatever the preferences say, and a frequency above the organisation's limit is refused.
A customer who never set any has the defaults: every channel, no quiet hours, the
organisation's limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.consent.purposes import CHANNEL_PURPOSES
from domain.errors import ValidationFailed

MARKETING_CHANNELS: frozenset[str] = frozenset(CHANNEL_PURPOSES)
"""The channels campaigns use (email, sms)."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError when there is none."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise ValueError("unknown time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("unknown time zone") from None


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily period (local time in `time_zone`) with no marketing; may span midnight."""

    start: time
    end: time
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours must start and end at different times")
        zone(self.time_zone)

    def end_of_quiet(self, moment: datetime) -> datetime | None:
        """When the quiet period containing `moment` ends (None: `moment` is not quiet)."""
        tz = zone(self.time_zone)
        local = moment.astimezone(tz)
        now = local.time().replace(tzinfo=None)
        day = local.date()
        if self.start < self.end:
            quiet = self.start <= now < self.end
        else:
            quiet = now >= self.start or now < self.end
            if now >= self.start:
                day = day + timedelta(days=1)
        if not quiet:
            return None
        # Built as a local wall-clock time, so a change of daylight-saving time is respected.
        return datetime.combine(day, self.end, tzinfo=tz).astimezone(moment.tzinfo)


@dataclass(frozen=True, slots=True)
class ContactPreferences:
    """What the customer asked for. `version` is the ETag (0: never set)."""

    channels: frozenset[str] = MARKETING_CHANNELS
    quiet_hours: QuietHours | None = None
    weekly_limit: int | None = None
    monthly_limit: int | None = None
    version: int = 0
    updated_at: datetime | None = field(default=None, compare=False)


def validated_preferences(
    *,
    channels: list[str],
    quiet_hours: tuple[str, str, str] | None,
    weekly_limit: int | None,
    monthly_limit: int | None,
    org_weekly: int,
    org_monthly: int,
) -> ContactPreferences:
    """Preferences from what the customer sent; ValidationFailed naming each bad field.

    `quiet_hours` is (start "HH:MM", end "HH:MM", IANA time zone). Limits must be at least
    1 and no higher than the organisation's (a customer may ask for less, never more).
    """
    problems: dict[str, str] = {}
    unknown = sorted(set(channels) - MARKETING_CHANNELS)
    if unknown:
        problems["channels"] = "unknown channel: " + ", ".join(unknown)
    quiet: QuietHours | None = None
    if quiet_hours is not None:
        start, end, tz = quiet_hours
        try:
            quiet = QuietHours(_clock_time(start), _clock_time(end), tz)
        except ValueError as error:
            problems["quiet_hours"] = str(error)
    for name, value, cap in (
        ("weekly_limit", weekly_limit, org_weekly),
        ("monthly_limit", monthly_limit, org_monthly),
    ):
        if value is not None and not 1 <= value <= cap:
            problems[name] = f"must be between 1 and {cap} (the organisation's limit)"
    if weekly_limit and monthly_limit and monthly_limit < weekly_limit:
        problems["monthly_limit"] = "must not be lower than weekly_limit"
    if problems:
        raise ValidationFailed(problems)
    return ContactPreferences(frozenset(channels), quiet, weekly_limit, monthly_limit)


def _clock_time(text: str) -> time:
    hours, sep, minutes = text.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError("times are HH:MM (24-hour)")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError("times are HH:MM (24-hour)")
    return time(int(hours), int(minutes))


PREFERENCE_COLUMNS: tuple[str, ...] = (
    "channels",
    "quiet_hours.start",
    "quiet_hours.end",
    "quiet_hours.time_zone",
    "weekly_limit",
    "monthly_limit",
    "version",
    "updated_at",
)
"""The CSV columns of `preferences_record`."""


def preferences_record(preferences: ContactPreferences) -> dict[str, Any]:
    """The preferences as GET /v1/me/contact-preferences shows them (without the status),
    for the export archive."""
    quiet = preferences.quiet_hours
    return {
        "channels": sorted(preferences.channels),
        "quiet_hours": None
        if quiet is None
        else {
            "start": quiet.start.strftime("%H:%M"),
            "end": quiet.end.strftime("%H:%M"),
            "time_zone": quiet.time_zone,
        },
        "weekly_limit": preferences.weekly_limit,
        "monthly_limit": preferences.monthly_limit,
        "version": preferences.version,
        "updated_at": None
        if preferences.updated_at is None
        else preferences.updated_at.isoformat().replace("+00:00", "Z"),
    }
